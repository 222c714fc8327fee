import type { ApiErrorBody, UiConfig } from '@lastmeter/contracts';

/**
 * HTTP to the two services: reads go to the gateway that served the page (same origin),
 * writes to the command service (its URL comes from `GET /v1/ui/config`). Every non-2xx
 * answer becomes an ApiError carrying the server's per-field messages.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message || `request failed (${status})`);
  }
}

let commandUrl: Promise<string> | undefined;

/** Base URL of the write API, asked of the gateway once per page. */
export function commandBaseUrl(): Promise<string> {
  commandUrl ??= fetch('/v1/ui/config')
    .then((response) => (response.ok ? (response.json() as Promise<UiConfig>) : { commandUrl: null }))
    .catch(() => ({ commandUrl: null }))
    .then((config) => (config.commandUrl ?? `${location.protocol}//${location.hostname}:3001`).replace(/\/$/, ''));
  return commandUrl;
}

/** Called when the server says the token is no longer good (401): the page logs out. */
let onUnauthorized: (() => void) | undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  ifMatch?: number;
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** More headers (e.g. a staff member's session on a shared tablet). */
  headers?: Record<string, string>;
}

async function call<T>(url: string, method: string, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['if-match'] = String(options.ifMatch);
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, { statusCode: 0, error: 'Network Error', message: 'The server cannot be reached.' });
  }
  const text = await response.text();
  const json = text ? safeJson(text) : undefined;
  if (!response.ok) {
    if (response.status === 401 && options.token) onUnauthorized?.();
    const body = (json as ApiErrorBody | undefined) ?? {
      statusCode: response.status,
      error: response.statusText,
      message: text || response.statusText,
    };
    throw new ApiError(response.status, body);
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** GET from the gateway's read API (`path` starts with /v1). */
export function read<T>(
  path: string,
  token: string,
  signal?: AbortSignal,
  headers?: Record<string, string>,
): Promise<T> {
  return call<T>(path, 'GET', { token, signal, headers });
}

/** A command to the write API (`path` starts with /v1). */
export async function write<T>(
  method: 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  return call<T>(`${await commandBaseUrl()}${path}`, method, options);
}

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Downloads a protected file (bearer token) under the given name. */
export async function download(path: string, token: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, (safeJson(text) as ApiErrorBody) ?? { message: text });
  }
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
