#!/usr/bin/env node
import { Command } from 'commander';
import { credentialsCommand } from './commands/credentials.command';
import { dlqCommand } from './commands/dlq.command';
import { doctorCommand } from './commands/doctor.command';
import { importCommand } from './commands/import.command';
import { infraCommand } from './commands/infra.command';
import { peopleCommand } from './commands/people.command';
import { rebuildCommand } from './commands/rebuild.command';
import { replayCommand } from './commands/replay.command';
import { startClusterCommand } from './commands/start-cluster.command';
import { startCommand } from './commands/start.command';
import { exitWithError } from './output';

const program = new Command('lastmeter')
  .description('Last Meter: local infrastructure, apps, replay and rebuild')
  .showHelpAfterError()
  .addCommand(startCommand())
  .addCommand(startClusterCommand())
  .addCommand(doctorCommand())
  .addCommand(infraCommand())
  .addCommand(rebuildCommand())
  .addCommand(dlqCommand())
  .addCommand(credentialsCommand())
  .addCommand(replayCommand())
  .addCommand(importCommand())
  .addCommand(peopleCommand());

program.parseAsync(process.argv).catch(exitWithError);
