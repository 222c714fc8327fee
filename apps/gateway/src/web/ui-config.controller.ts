import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@lastmeter/auth';
import { APP_CONFIG, type AppConfig } from '@lastmeter/config';
import type { UiConfig } from '@lastmeter/contracts';
import { Answer } from '@lastmeter/platform';

/** What a web UI needs to know before anyone logs in: where the write API is. */
@ApiTags('web')
@Controller('ui')
export class UiConfigController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig<'gateway'>) {}

  @Get('config')
  @Public()
  @ApiOperation({ summary: 'Where the browser finds the write API (COMMAND_PUBLIC_URL; null = same host, port 3001)' })
  @Answer('UiConfig')
  uiConfig(): UiConfig {
    return { commandUrl: this.config.COMMAND_PUBLIC_URL || null };
  }
}
