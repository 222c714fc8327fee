import { BadRequestException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentClaims, ERASED_PERSON, Roles, type TokenClaims } from '@lastmeter/auth';
import { namedStaff, openNotes } from '@lastmeter/history';
import {
  translationFor,
  type CommunicationPage,
  type CommunicationView,
  type EvidencePage,
  type PeopleReach,
  type SurveyResults,
  type ReachAnswer,
  type ReachTimeline,
} from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';
import {
  communicationAsOf,
  getCommunication,
  listCommunications,
  reachCountsByLocale,
  reachOfRegion,
  reachReport,
  reachTimeline,
  readEvidence,
  readPeopleReach,
  readSurveyResults,
} from '@lastmeter/read-models';
import {
  CommunicationQuery,
  EvidenceQuery,
  ListCommunicationsQuery,
  PeopleReachQuery,
  ReachQuery,
  SurveyQuery,
} from './read.dto';
import { ReadModels } from './read-models.service';
import { HQ_READERS, requireStore } from './scope';

const id = new ParseUUIDPipe();
const READ_YOUR_WRITE_WAIT_MS = 5_000;

@ApiTags('communications')
@ApiBearerAuth()
@Controller('communications')
export class CommunicationsController {
  constructor(private readonly models: ReadModels) {}

  @Get()
  @Roles(...HQ_READERS, 'agency')
  @ApiOperation({ summary: 'The communication catalogue, newest first, optionally by status' })
  @Answer('CommunicationPage')
  async list(@Query() query: ListCommunicationsQuery): Promise<CommunicationPage> {
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
  @ApiOperation({
    summary: 'One communication: status, current revision, author, audience, schedule',
    description:
      'With `asOf`: as it stood at that instant (its history folded up to then); 404 if it did not exist yet. ' +
      'With `minVersion`: answers once the read side has caught up with that version (or after 5 s with what it has).',
  })
  @Answer('CommunicationView')
  async get(@Param('id', id) communicationId: string, @Query() query: CommunicationQuery): Promise<CommunicationView> {
    if (query.asOf && query.minVersion) {
      throw new BadRequestException({
        message: 'asOf and minVersion do not combine',
        fields: { minVersion: ['minVersion waits for the present; it does not combine with asOf'] },
      });
    }
    const keys = await this.models.keys();
    const read = () =>
      query.asOf
        ? communicationAsOf(this.models.redis, keys, communicationId, new Date(query.asOf))
        : getCommunication(this.models.redis, keys, communicationId);
    let communication = await read();
    // The projector usually follows a command within milliseconds; a UI that just wrote
    // asks for its version here instead of polling (and logging 404s) until it shows.
    const deadline = Date.now() + READ_YOUR_WRITE_WAIT_MS;
    while (query.minVersion && (communication?.version ?? 0) < query.minVersion && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      communication = await read();
    }
    if (!communication) throw new NotFoundException('no such communication');
    return communication;
  }

  @Get(':id/reach')
  @Roles(...HQ_READERS)
  @ApiOperation({
    summary: 'Targeted → delivered → read → acknowledged → completed, overall, by region and by store',
    description:
      '`by=region`: overall and by region, without the per-store rows. `by=language`: that, and `byLanguage`: ' +
      'per store locale, its stores at each step and the language they are shown (their translation or the default). `regionId`: the stores of one region ' +
      '(`unknown` for stores not in the directory) by code, `limit` (default 100, at most 500) at a time with `next`.',
  })
  @Answer('ReachAnswer')
  async reach(@Param('id', id) communicationId: string, @Query() query: ReachQuery): Promise<ReachAnswer> {
    if (query.by && query.regionId) {
      throw new BadRequestException({
        message: 'invalid request: by',
        fields: { by: ['by lists regions or languages; regionId lists the stores of one region: pick one'] },
      });
    }
    if (query.regionId === undefined && (query.limit !== undefined || query.cursor !== undefined)) {
      throw new BadRequestException({
        message: 'invalid request: regionId',
        fields: { regionId: ['limit and cursor page the stores of one region: give regionId'] },
      });
    }
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    if (query.by === 'language') {
      const [report, byLocale] = await Promise.all([
        reachReport(this.models.redis, keys, communication, { byStore: false }),
        reachCountsByLocale(this.models.redis, keys, communicationId),
      ]);
      const byLanguage = [...byLocale]
        .map(([locale, counts]) => ({
          locale,
          shown: translationFor(locale, communication.translations, communication.language).language,
          ...counts,
        }))
        .sort((a, b) => b.targeted - a.targeted || a.locale.localeCompare(b.locale));
      return { ...report, byLanguage };
    }
    if (query.regionId === undefined) {
      return reachReport(this.models.redis, keys, communication, { byStore: query.by !== 'region' });
    }
    return await reachOfRegion(this.models.redis, keys, communicationId, {
      regionId: query.regionId,
      limit: query.limit ?? 100,
      cursor: query.cursor,
    });
  }

  @Get(':id/reach/people')
  @Roles(...HQ_READERS, 'store-manager')
  @ApiOperation({
    summary: 'Seen by and acknowledged by, per person: overall, by region, by store, and each person of a store',
    description:
      "The denominator is the active staff of the targeted stores in the audience's roles (all staff when it names " +
      'none). `regionId` adds the stores of that region (`byStore`); `storeId` adds its people (`people`), with ' +
      'who is overdue (past `dueAt`, not acknowledged). A store manager reads their own store only.',
  })
  @Answer('PeopleReach')
  async peopleReach(
    @Param('id', id) communicationId: string,
    @Query() query: PeopleReachQuery,
    @CurrentClaims() claims: TokenClaims,
  ): Promise<PeopleReach> {
    if (claims.role === 'store-manager') {
      if (!query.storeId) {
        throw new BadRequestException({
          message: 'invalid request: storeId',
          fields: { storeId: ['a store manager reads the people of their own store: give its storeId'] },
        });
      }
      requireStore(claims, query.storeId);
    }
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    const { people, ...report } = await readPeopleReach(this.models.redis, keys, communication, query, new Date());
    if (!people || !query.storeId) return report;
    // Names are opened now, with the keys mirrored from lastmeter.person-keys.v1 (docs/privacy.md).
    const roster = new Map((await namedStaff(this.models.redis, keys, [query.storeId])).map((s) => [s.id, s]));
    const named = people.map((person) => {
      const staff = roster.get(person.staffId);
      return { ...person, roles: staff?.roles ?? person.roles, name: staff?.displayName ?? ERASED_PERSON };
    });
    return {
      ...report,
      people: named.sort((a, b) => a.name.localeCompare(b.name) || a.staffId.localeCompare(b.staffId)),
    };
  }

  @Get(':id/survey')
  @Roles(...HQ_READERS)
  @ApiOperation({
    summary: 'A pulse survey’s results: overall, by region, and the stores of one region',
    description:
      'Anonymous answers (issue 21). A group with fewer than `threshold` (5) respondents is only ' +
      '`{ belowThreshold: true }`: no count, no answer, no text. Texts are sorted, not in the order they came.',
  })
  @Answer('SurveyResults')
  async survey(@Param('id', id) communicationId: string, @Query() query: SurveyQuery): Promise<SurveyResults> {
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    if (communication.kind !== 'survey') throw new NotFoundException('this communication is not a survey');
    return readSurveyResults(this.models.redis, keys, communication, query);
  }

  @Get(':id/reach/timeline')
  @Roles(...HQ_READERS)
  @ApiOperation({ summary: 'Reach over time: cumulative terminals and stores per step at each first report' })
  @Answer('ReachTimeline')
  async timeline(@Param('id', id) communicationId: string): Promise<ReachTimeline> {
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication) throw new NotFoundException('no such communication');
    return reachTimeline(this.models.redis, keys, communication);
  }

  @Get(':id/evidence')
  @Roles(...HQ_READERS)
  @ApiOperation({
    summary: "A task's evidence, store by store",
    description:
      "Per store that completed it: its latest completion (terminal, revision, time, note, and the photo's media " +
      'reference: `GET /v1/media/:mediaId?variant=thumbnail`). A page at a time: `next` is the cursor of the following ' +
      'page; a page may hold fewer than `limit` items and still have `next`.',
  })
  @Answer('EvidencePage')
  async evidence(@Param('id', id) communicationId: string, @Query() query: EvidenceQuery): Promise<EvidencePage> {
    const keys = await this.models.keys();
    if (!(await getCommunication(this.models.redis, keys, communicationId))) {
      throw new NotFoundException('no such communication');
    }
    const page = await readEvidence(this.models.redis, keys, communicationId, {
      cursor: query.cursor,
      limit: query.limit ?? 100,
    });
    // A signed-in person's note is sealed with their key: opened now (docs/privacy.md).
    await openNotes(this.models.redis, keys, page.items);
    return page;
  }
}
