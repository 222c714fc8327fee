import { existsSync, readFileSync } from 'node:fs';
import { pidListeningOn } from '@lastmeter/infra';
import type { ChaosCluster } from './cluster';

export const FAULTS = ['broker', 'controller', 'redis-master', 'gateway', 'projector', 'command'] as const;
export type Fault = (typeof FAULTS)[number];

export interface Injected {
  /** What was killed, e.g. "Kafka node 2 (the active controller)". */
  victim: string;
  pid: number;
  /** Date.now() of the kill. */
  at: number;
}

/**
 * The epoch at which each node last became the active KRaft controller, from its
 * controller log (QuorumController: "Becoming the active controller at epoch N"); the
 * node with the highest epoch is the active one.
 */
export function activeController(logs: Array<{ id: number; file: string }>): number | undefined {
  let best: { id: number; epoch: number } | undefined;
  for (const { id, file } of logs) {
    if (!existsSync(file)) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(/Becoming the active controller at epoch (\d+)/g)) {
      const epoch = Number(match[1]);
      if (!best || epoch > best.epoch) best = { id, epoch };
    }
  }
  return best?.id;
}

/**
 * Kills one part of the running cluster with SIGKILL: no shutdown hook runs, as when a
 * machine dies. start-cluster's supervisor and keepers bring each back by themselves.
 */
export function inject(fault: Fault, cluster: ChaosCluster): Injected {
  const status = cluster.status();
  const kafkaLogs = status.kafka.map((_, i) => ({ id: i + 1, file: cluster.controllerLog(i + 1) }));
  const controller = activeController(kafkaLogs);
  let victim: string;
  let pid: number | undefined;
  switch (fault) {
    case 'broker': {
      // A broker that is not the active controller: leaders move, the quorum stays.
      const index = status.kafka.findIndex((_, i) => i + 1 !== controller);
      victim = `Kafka node ${index + 1} (a broker; node ${controller} is the active controller)`;
      pid = status.kafka[index]?.pid;
      break;
    }
    case 'controller':
      if (!controller) throw new Error('no active KRaft controller found in the controller logs');
      victim = `Kafka node ${controller} (the active controller)`;
      pid = status.kafka[controller - 1]?.pid;
      break;
    case 'redis-master': {
      const master = status.redis.find((r) => r.address === `redis://${status.master}`);
      victim = `the Redis master ${status.master}`;
      pid = master?.pid;
      break;
    }
    default: {
      const port = cluster.instances[fault][0]!;
      victim = `${fault}-1 (:${port})`;
      pid = pidListeningOn(port);
    }
  }
  if (!pid) throw new Error(`no process found for ${victim}`);
  process.kill(pid, 'SIGKILL');
  return { victim, pid, at: Date.now() };
}
