import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import type { ActorRole, StoreRole } from '@lastmeter/contracts';
import type { TestNamespace } from './env';

/** Tokens minted with the suite's secret (what POST /auth/login would return). */
export function tokenFor(
  ns: TestNamespace,
  role: ActorRole,
  extra: { sub?: string; storeId?: string; roles?: StoreRole[]; expiresIn?: string } = {},
): string {
  const jwt = new JwtService({ secret: ns.env.LASTMETER_JWT_SECRET });
  const { sub, expiresIn, ...claims } = extra;
  return jwt.sign(
    { sub: sub ?? `${role}-user`, role, ...claims },
    { expiresIn: (expiresIn ?? '1h') as never, issuer: 'lastmeter' },
  );
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Small helpers over the command API for arranging a scenario. */
export class WriteApi {
  constructor(
    readonly url: string,
    readonly ns: TestNamespace,
  ) {}

  token(role: ActorRole, extra?: Parameters<typeof tokenFor>[2]): string {
    return tokenFor(this.ns, role, extra);
  }

  async region(code: string): Promise<string> {
    const response = await request(this.url)
      .post('/v1/regions')
      .set(bearer(this.token('hq-admin')))
      .send({ code, name: code });
    if (response.status !== 201) throw new Error(`region ${code}: ${response.status} ${response.text}`);
    return response.body.id as string;
  }

  async store(code: string, regionId: string, extra: Record<string, unknown> = {}): Promise<string> {
    const response = await request(this.url)
      .post('/v1/stores')
      .set(bearer(this.token('hq-admin')))
      .send({ code, name: code, regionId, ...extra });
    if (response.status !== 201) throw new Error(`store ${code}: ${response.status} ${response.text}`);
    return response.body.id as string;
  }

  async draft(
    body: Record<string, unknown> = {},
    role: ActorRole = 'hq-editor',
  ): Promise<{ id: string; version: number }> {
    const response = await request(this.url)
      .post('/v1/communications')
      .set(bearer(this.token(role)))
      .send({
        kind: 'notice',
        title: 'Fridge check',
        body: 'Check the fridge temperature',
        audience: { all: true },
        ...body,
      });
    if (response.status !== 201) throw new Error(`draft: ${response.status} ${response.text}`);
    return response.body as { id: string; version: number };
  }

  /**
   * A staff member's whole life as head office runs it (issue 21): added, edited, removed
   * from the store, then erased (their key and PIN tombstoned). Returns their id.
   */
  async staffLifecycle(
    storeId: string,
    person: { name: string; roles: string[]; pin: string },
    edit: Record<string, unknown>,
  ): Promise<string> {
    const admin = bearer(this.token('hq-admin'));
    const expect = async (what: string, call: request.Test, status: number) => {
      const response = await call.set(admin);
      if (response.status !== status) throw new Error(`${what}: ${response.status} ${response.text}`);
      return response.body as { id: string };
    };
    const { id } = await expect('add staff', request(this.url).post(`/v1/stores/${storeId}/staff`).send(person), 201);
    await expect('edit staff', request(this.url).patch(`/v1/stores/${storeId}/staff/${id}`).send(edit), 200);
    await expect('remove staff', request(this.url).delete(`/v1/stores/${storeId}/staff/${id}`).send({}), 200);
    await expect('erase staff', request(this.url).delete(`/v1/staff/${id}/personal-data`).send({}), 200);
    return id;
  }
}

/** Scenario helpers that go through the whole lifecycle (an editor's own draft self-approves on publish). */
export class Publisher extends WriteApi {
  async send(method: 'post' | 'patch', path: string, body: object = {}, role: ActorRole = 'hq-editor') {
    const response = await request(this.url)
      [method](path)
      .set(bearer(this.token(role)))
      .send(body);
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
    return response.body as { id: string; version: number };
  }

  /** Drafts and publishes; returns the communication id. */
  async publish(body: Record<string, unknown> = {}, schedule: Record<string, unknown> = {}): Promise<string> {
    const { id } = await this.draft(body);
    await this.send('post', `/v1/communications/${id}/publish`, schedule);
    return id;
  }

  /** Registers and enrolls a terminal the way a store tablet does; returns its device token. */
  async terminal(storeId: string, roles: string[] = []): Promise<{ terminalId: string; token: string }> {
    const registered = await this.send('post', '/v1/terminals', { storeId, roles }, 'hq-admin');
    const code = (registered as unknown as { enrollmentCode: string }).enrollmentCode;
    const response = await request(this.url).post('/v1/terminals/enroll').send({ code });
    if (response.status !== 200 && response.status !== 201)
      throw new Error(`enroll: ${response.status} ${response.text}`);
    return response.body as { terminalId: string; token: string };
  }

  async revokeTerminal(terminalId: string): Promise<void> {
    const response = await request(this.url)
      .delete(`/v1/terminals/${terminalId}`)
      .set(bearer(this.token('hq-admin')));
    if (response.status >= 300) throw new Error(`revoke: ${response.status} ${response.text}`);
  }

  revise(id: string, changes: Record<string, unknown>) {
    return this.send('patch', `/v1/communications/${id}`, changes);
  }

  retract(id: string) {
    return this.send('post', `/v1/communications/${id}/retract`, {});
  }

  updateStore(id: string, changes: Record<string, unknown>) {
    return this.send('patch', `/v1/stores/${id}`, changes, 'hq-admin');
  }
}

/** A supertest parser that keeps the body as bytes (`.buffer(true).parse(bytes)`): files, CSVs. */
export function bytes(res: request.Response, callback: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
}
