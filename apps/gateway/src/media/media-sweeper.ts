import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { MediaLibrary, sweepMedia, type SweepReport } from '@lastmeter/media';
import { mediaUseOf } from '@lastmeter/read-models';
import { ReadModels } from '../read/read-models.service';

const DAY_MS = 86_400_000;

/**
 * Retention of media (docs/media.md): every MEDIA_SWEEP_EVERY_S one gateway of the
 * deployment (a Redis lock decides which) deletes the media nothing needs any more:
 * uploads nothing used within MEDIA_UNREFERENCED_GRACE_S, and media of communications
 * retracted or expired more than MEDIA_RETENTION_DAYS ago (field reports' photos stay).
 * `POST /v1/media/sweep` runs it now, or counts with `dryRun`.
 */
@Injectable()
export class MediaSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MediaSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>,
    private readonly library: MediaLibrary,
    private readonly models: ReadModels,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.MEDIA_SWEEP_EVERY_S * 1000;
    if (every === 0) return;
    this.timer = setInterval(() => void this.scheduled(), every).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async sweep(dryRun: boolean): Promise<SweepReport> {
    const keys = await this.models.keys();
    const report = await sweepMedia(this.library.store, (id) => mediaUseOf(this.models.redis, keys, id), {
      now: new Date(),
      unreferencedGraceMs: this.config.MEDIA_UNREFERENCED_GRACE_S * 1000,
      retentionMs: this.config.MEDIA_RETENTION_DAYS * DAY_MS,
      dryRun,
    });
    const deleted = report.deleted.unreferenced + report.deleted.retention;
    if (!dryRun && (deleted > 0 || report.blobs > 0)) {
      this.logger.log(
        `media sweep: ${report.deleted.unreferenced} unused and ${report.deleted.retention} past retention deleted ` +
          `(${report.blobs} files, ${report.bytes} bytes); ${report.kept} kept`,
      );
    }
    return report;
  }

  /** One gateway at a time: the lock outlives the sweep's interval's half, so the others skip this round. */
  private async scheduled(): Promise<void> {
    const lock = `${this.config.REDIS_KEY_PREFIX}media:sweep-lock`;
    const ttl = Math.max(1, Math.floor(this.config.MEDIA_SWEEP_EVERY_S / 2));
    try {
      if ((await this.models.redis.set(lock, String(process.pid), 'EX', ttl, 'NX')) !== 'OK') return;
      await this.sweep(false);
    } catch (error) {
      this.logger.warn(`media sweep failed: ${(error as Error).message}`);
    }
  }
}
