import { BadRequestException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '@lastmeter/auth';
import {
  getCommunication,
  listCommunications,
  listStores,
  reachByStore,
  readReach,
  REACH_STEPS,
  stepCounts,
} from '@lastmeter/read-models';
import { ListCommunicationsQuery } from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS } from './scope';

const id = new ParseUUIDPipe();

@ApiTags('communications')
@ApiBearerAuth()
@Controller('communications')
export class CommunicationsController {
  constructor(private readonly models: ReadModels) {}

  @Get()
  @Roles(...HQ_READERS, 'agency')
  @ApiOperation({ summary: 'The communication catalogue, newest first, optionally by status' })
  async list(@Query() query: ListCommunicationsQuery) {
    const page = await listCommunications(this.models.redis, await this.models.keys(), {
      status: query.status,
      cursor: query.cursor,
      limit: query.limit ?? 50,
    });
    if (!page) throw new BadRequestException({ message: 'invalid cursor', fields: { cursor: ['unknown cursor'] } });
    return page;
  }

  @Get(':id')
  @Roles(...HQ_READERS, 'agency')
  @ApiOperation({ summary: 'One communication: status, current revision, author, audience, schedule' })
  async get(@Param('id', id) communicationId: string) {
    const communication = await getCommunication(this.models.redis, await this.models.keys(), communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    return communication;
  }

  @Get(':id/reach')
  @Roles(...HQ_READERS)
  @ApiOperation({ summary: 'Targeted → delivered → read → acknowledged → completed, overall, by region and by store' })
  async reach(@Param('id', id) communicationId: string) {
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    const [raw, stores] = await Promise.all([
      readReach(this.models.redis, keys, communicationId),
      listStores(this.models.redis, keys),
    ]);
    const regionOf = new Map(stores.map((s) => [s.id, s.regionId]));
    const byStore = reachByStore(raw).map((s) => ({ ...s, regionId: regionOf.get(s.storeId) }));
    const byRegion = new Map<string, Record<string, number>>();
    for (const store of byStore) {
      const region = store.regionId ?? 'unknown';
      const counts = byRegion.get(region) ?? { targeted: 0, delivered: 0, read: 0, acknowledged: 0, completed: 0 };
      if (store.targeted) counts.targeted++;
      for (const step of REACH_STEPS) if (store[step] > 0) counts[step]++;
      byRegion.set(region, counts);
    }
    const scores = byStore.filter((s) => s.quizScore !== undefined);
    const answers = scores.reduce((n, s) => n + s.quizAnswers, 0);
    return {
      communicationId,
      revision: communication.revision,
      status: communication.status,
      targeted: raw.targeted.length,
      ...Object.fromEntries(REACH_STEPS.map((step) => [step, stepCounts(raw, step)])),
      quiz: {
        answers,
        averageScore: answers ? scores.reduce((sum, s) => sum + s.quizScore! * s.quizAnswers, 0) / answers : null,
      },
      byRegion: [...byRegion].map(([regionId, counts]) => ({ regionId, ...counts })),
      byStore,
    };
  }
}
