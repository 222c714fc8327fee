import { useState } from 'react';
import {
  MAX_COMMUNICATION_ATTACHMENTS,
  type CommunicationAttachment,
  type MediaRef,
  type MediaUploaded,
} from '@lastmeter/contracts';
import { sizeLabel, uploadMedia } from '../shared/media';
import { FieldErrorList } from '../shared/ui';

const ACCEPTED = 'image/jpeg,image/png,image/webp,application/pdf';

interface Media {
  attachments: CommunicationAttachment[];
  cover?: MediaRef;
}

interface Upload {
  id: number;
  name: string;
  fraction: number;
  error?: string;
}

const refOf = ({ mediaId, sha256, contentType, size, width, height }: MediaUploaded): MediaRef => ({
  mediaId,
  sha256,
  contentType,
  size,
  ...(width !== undefined ? { width, height } : {}),
});

/**
 * The composer's attachments and cover: files are uploaded as soon as they are picked
 * (`POST /v1/media`, with progress), then only their ids go with the communication.
 */
export function MediaPicker(props: {
  token: string;
  attachments: CommunicationAttachment[];
  cover?: MediaRef;
  /** Called with an update of the form's media as they are when it applies (uploads end in any order). */
  onChange: (update: (current: Media) => Partial<Media>) => void;
  errors: string[];
}) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const room = MAX_COMMUNICATION_ATTACHMENTS - props.attachments.length;

  const upload = async (file: File, done: (media: MediaUploaded) => void) => {
    const id = Math.random();
    const update = (patch: Partial<Upload>) =>
      setUploads((current) => current.map((u) => (u.id === id ? { ...u, ...patch } : u)));
    setUploads((current) => [...current, { id, name: file.name, fraction: 0 }]);
    try {
      const media = await uploadMedia(file, file.name, props.token, {
        onProgress: (fraction) => update({ fraction }),
      });
      setUploads((current) => current.filter((u) => u.id !== id));
      done(media);
    } catch (error) {
      update({ error: (error as Error).message });
    }
  };

  const attach = (files: FileList | null) => {
    for (const file of Array.from(files ?? []).slice(0, Math.max(0, room))) {
      void upload(file, (media) =>
        props.onChange((current) => ({ attachments: [...current.attachments, { ...refOf(media), name: media.name }] })),
      );
    }
  };

  return (
    <fieldset aria-label="Attachments">
      <legend>Attachments and cover</legend>
      <div className="row">
        <label className="field">
          <span>Attach pictures or PDFs ({room} more)</span>
          <input
            type="file"
            accept={ACCEPTED}
            multiple
            disabled={room <= 0}
            aria-label="Attach files"
            onChange={(e) => {
              attach(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <label className="field">
          <span>Cover picture</span>
          <input
            type="file"
            accept="image/jpeg,image/png,image/webp"
            aria-label="Cover picture"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void upload(file, (media) => props.onChange(() => ({ cover: refOf(media) })));
              e.target.value = '';
            }}
          />
        </label>
      </div>
      {uploads.map((u) => (
        <div key={u.id} className="stack">
          <span>
            {u.name} {u.error ? <span className="field-errors">— {u.error}</span> : `${Math.round(u.fraction * 100)}%`}
          </span>
          {!u.error && (
            <progress className="upload-progress" value={u.fraction} max={1} aria-label={`Uploading ${u.name}`} />
          )}
        </div>
      ))}
      {props.cover && (
        <p>
          Cover: a picture of {props.cover.width}×{props.cover.height}{' '}
          <button type="button" className="link" onClick={() => props.onChange(() => ({ cover: undefined }))}>
            Remove the cover
          </button>
        </p>
      )}
      {props.attachments.length > 0 && (
        <ul className="attachment-list" aria-label="Attached">
          {props.attachments.map((a, i) => (
            <li key={`${a.mediaId}-${i}`}>
              {a.name}{' '}
              <span className="muted">
                ({a.contentType === 'application/pdf' ? 'PDF' : 'picture'}, {sizeLabel(a.size)})
              </span>{' '}
              <button
                type="button"
                className="link"
                aria-label={`Remove ${a.name}`}
                onClick={() =>
                  props.onChange((current) => ({ attachments: current.attachments.filter((_, j) => j !== i) }))
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <FieldErrorList errors={props.errors} />
    </fieldset>
  );
}
