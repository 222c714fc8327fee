import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import { MetricsRegistry } from '@lastmeter/platform';

/** How long an upload waits for its turn before a 503. */
export const UPLOAD_WAIT_MS = 30_000;

/**
 * At most `max` uploads received and processed at once; the next ones wait their turn in
 * arrival order (their bodies unread: the socket holds them), up to `queue` of them and
 * `waitMs` each. Fair: no upload is overtaken by one that came later, so none starves
 * the way clients retrying after a 503 do.
 */
export class UploadSlots {
  private active = 0;
  private readonly waiting: Array<{ admit: () => void }> = [];

  constructor(
    private readonly max: number,
    private readonly queue: number,
    private readonly waitMs: number,
  ) {}

  /** True once a slot is this upload's (release it after); false when the queue is full or the wait ran out. */
  acquire(gone: AbortSignal): Promise<boolean> {
    if (this.active < this.max && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.queue) return Promise.resolve(false);
    return new Promise((resolve) => {
      const leave = (admitted: boolean) => {
        clearTimeout(timer);
        gone.removeEventListener('abort', onGone);
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(admitted);
      };
      const entry = {
        admit: () => {
          this.active++;
          leave(true);
        },
      };
      const onGone = () => leave(false);
      const timer = setTimeout(() => leave(false), this.waitMs);
      gone.addEventListener('abort', onGone, { once: true });
      this.waiting.push(entry);
    });
  }

  release(): void {
    this.active--;
    this.waiting[0]?.admit();
  }

  get busy(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}

/** The gateway's one pool of upload slots (MEDIA_UPLOADS_MAX, MEDIA_UPLOADS_QUEUE), counted in /metrics. */
@Injectable()
export class MediaUploadSlots extends UploadSlots {
  constructor(@Inject(APP_CONFIG) config: AppConfig<'gateway'>, registry: MetricsRegistry) {
    super(config.MEDIA_UPLOADS_MAX, config.MEDIA_UPLOADS_QUEUE, UPLOAD_WAIT_MS);
    const busy = () => this.busy;
    new Gauge({
      name: 'lastmeter_media_uploads',
      help: 'Uploads (POST /v1/media) this gateway is receiving (active) or that wait their turn (waiting)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'active' }, busy().active);
        this.set({ state: 'waiting' }, busy().waiting);
      },
    });
  }
}
