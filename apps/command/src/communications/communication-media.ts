import { BadRequestException, Injectable } from '@nestjs/common';
import type { CommunicationAttachment, MediaRecord } from '@lastmeter/contracts';
import type { CommunicationInput } from '@lastmeter/domain';
import { MediaLibrary, mediaRefOf } from '@lastmeter/media';
import type { DraftCommunicationDto } from './communication.dto';

/**
 * A communication's `attachments: [{ mediaId, name? }]` and `cover: { mediaId }` as the
 * events carry them: references to head office media (uploaded with `POST /v1/media` on
 * the gateway), read from the media store (docs/media.md). Media bytes never go into
 * Kafka; what a medium may be (a cover is an image) is a content rule of libs/domain.
 */
@Injectable()
export class CommunicationMedia {
  constructor(private readonly library: MediaLibrary) {}

  /** The body with its media resolved; a 400 naming each unknown or store-owned medium, nothing written. */
  async resolve(body: Partial<DraftCommunicationDto>): Promise<Partial<CommunicationInput>> {
    const { attachments, cover, ...rest } = body;
    const fields: Record<string, string[]> = {};
    const headOffice = async (mediaId: string, field: string): Promise<MediaRecord | undefined> => {
      const record = await this.library.record(mediaId);
      if (record?.owner.kind === 'head-office') return record;
      fields[field] = ['no head office medium has this id (upload it first: POST /v1/media on the gateway)'];
      return undefined;
    };
    const [attached, coverRecord] = await Promise.all([
      Promise.all((attachments ?? []).map(({ mediaId }, i) => headOffice(mediaId, `attachments.${i}.mediaId`))),
      cover ? headOffice(cover.mediaId, 'cover.mediaId') : undefined,
    ]);
    if (Object.keys(fields).length > 0) {
      throw new BadRequestException({ message: `invalid request: ${Object.keys(fields).join(', ')}`, fields });
    }
    const resolved: Partial<CommunicationInput> = { ...(rest as Partial<CommunicationInput>) };
    if (attachments !== undefined) {
      resolved.attachments = attachments.map(({ name }, i): CommunicationAttachment => ({
        ...mediaRefOf(attached[i]!),
        name: name ?? attached[i]!.name,
      }));
    }
    if (cover !== undefined) resolved.cover = coverRecord ? mediaRefOf(coverRecord) : null;
    return resolved;
  }
}
