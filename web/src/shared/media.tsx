import { useEffect, useState } from 'react';
import { Upload } from 'tus-js-client';
import type { CommunicationAttachment, MediaRef, MediaUploaded } from '@lastmeter/contracts';
import { ApiError, read } from './api';

/**
 * Media in the web UIs (docs/media.md): uploads with progress, and images shown through
 * short-lived signed links (an `<img src>` cannot send the bearer token).
 */

/** Uploads a file to `POST /v1/media` (the gateway that served the page), reporting progress 0…1. */
export function uploadMedia(
  file: Blob,
  name: string,
  token: string,
  options: { onProgress?: (fraction: number) => void; signal?: AbortSignal; baseUrl?: string } = {},
): Promise<MediaUploaded> {
  const { onProgress, signal, baseUrl = '' } = options;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${baseUrl}/v1/media`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress?.(event.loaded / event.total);
    xhr.onload = () => {
      if (xhr.status === 201) return resolve(xhr.response as MediaUploaded);
      const body = (xhr.response as ApiError['body'] | null) ?? {
        statusCode: xhr.status,
        error: xhr.statusText,
        message: xhr.statusText || `upload failed (${xhr.status})`,
      };
      reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () =>
      reject(new ApiError(0, { statusCode: 0, error: 'Network Error', message: 'The server cannot be reached.' }));
    xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append('file', file, name);
    xhr.send(form);
  });
}

/**
 * Uploads a file resumably (tus, `/v1/media/uploads`): cut off by store Wi-Fi, it goes on
 * from where the server has it, even after a reload (the upload's URL is kept in
 * localStorage under `key`, e.g. the outbox entry's photo id). Resolves with the medium;
 * rejects with an ApiError (status 0: the server could not be reached, try again later).
 */
export function uploadResumable(
  file: Blob,
  name: string,
  token: string,
  options: { key: string; onProgress?: (fraction: number) => void; baseUrl?: string },
): Promise<MediaUploaded> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(file, {
      endpoint: `${options.baseUrl ?? location.origin}/v1/media/uploads`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { filename: name, filetype: file.type },
      chunkSize: 256 * 1024,
      retryDelays: [0, 1_000, 3_000],
      fingerprint: async () => `lastmeter-media-${options.key}`,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => options.onProgress?.(total ? sent / total : 0),
      onSuccess: ({ lastResponse }) => resolve(JSON.parse(lastResponse.getBody()) as MediaUploaded),
      onError: (error) => {
        const response = (error as { originalResponse?: { getStatus(): number; getBody(): string } | null })
          .originalResponse;
        const status = response?.getStatus() ?? 0;
        let body: ApiError['body'] = { statusCode: status, error: 'Upload failed', message: error.message };
        try {
          if (response?.getBody()) body = JSON.parse(response.getBody()) as ApiError['body'];
        } catch {
          // Not JSON (a proxy's page): the message above says enough.
        }
        reject(new ApiError(status, body));
      },
    });
    void upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

type Variant = 'original' | 'thumbnail';
const links = new Map<string, { url: string; until: number }>();
/** Tries at a signed link answered 503 (busy, or the read models behind) before giving up. */
const LINK_ATTEMPTS = 5;

/** A signed link to a medium (cached until shortly before it expires). */
export async function mediaLink(mediaId: string, variant: Variant, token: string): Promise<string> {
  const key = `${mediaId}:${variant}`;
  const cached = links.get(key);
  if (cached && cached.until > Date.now()) return cached.url;
  for (let attempt = 1; ; attempt++) {
    try {
      const { url, expiresAt } = await read<{ url: string; expiresAt: string }>(
        `/v1/media/${mediaId}/link?variant=${variant}`,
        token,
      );
      links.set(key, { url, until: Date.parse(expiresAt) - 30_000 });
      return url;
    } catch (error) {
      // 503: e.g. an item that reached the tablet before the read models had its store's
      // targeting (docs/media.md). Asked again after Retry-After, a few times.
      if (!(error instanceof ApiError) || error.status !== 503 || attempt >= LINK_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, (error.body.retryAfter ?? 1) * 1_000));
    }
  }
}

/** The signed link of a medium, once it is known (undefined while asking, or if it cannot be read). */
export function useMediaLink(mediaId: string | undefined, variant: Variant, token: string | undefined) {
  const key = mediaId && token ? `${mediaId}:${variant}` : undefined;
  const [found, setFound] = useState<{ key: string; url: string }>();
  useEffect(() => {
    if (!key || !mediaId || !token) return;
    let live = true;
    mediaLink(mediaId, variant, token).then(
      (url) => live && setFound({ key, url }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [key, mediaId, variant, token]);
  return found && found.key === key ? found.url : undefined;
}

/** Opens the original in a new tab (the browser's image or PDF viewer). */
export async function openMedia(mediaId: string, token: string): Promise<void> {
  const tab = window.open('', '_blank');
  const url = await mediaLink(mediaId, 'original', token);
  if (tab) tab.location.href = url;
  else window.location.assign(url);
}

/** A thumbnail that opens the original when pressed. */
export function Thumbnail(props: { media: MediaRef; token?: string; alt: string; className?: string }) {
  const url = useMediaLink(props.media.mediaId, 'thumbnail', props.token);
  return (
    <button
      type="button"
      className={`thumbnail ${props.className ?? ''}`}
      onClick={() => props.token && void openMedia(props.media.mediaId, props.token)}
      aria-label={`Open ${props.alt}`}
    >
      {url ? <img src={url} alt={props.alt} /> : <span className="thumbnail-wait" aria-hidden="true" />}
    </button>
  );
}

/** A communication's cover and attachments: images as thumbnails, PDFs as buttons that open them. */
export function CardMedia(props: { cover?: MediaRef; attachments?: CommunicationAttachment[]; token?: string }) {
  const { cover, attachments = [], token } = props;
  if (!cover && attachments.length === 0) return null;
  const images = attachments.filter((a) => a.contentType.startsWith('image/'));
  const documents = attachments.filter((a) => !a.contentType.startsWith('image/'));
  return (
    <div className="card-media">
      {cover && <Thumbnail media={cover} token={token} alt="Cover picture" className="thumbnail--cover" />}
      {images.length > 0 && (
        <div className="thumbnail-row">
          {images.map((image) => (
            <Thumbnail key={image.mediaId} media={image} token={token} alt={image.name} />
          ))}
        </div>
      )}
      {documents.length > 0 && (
        <ul className="attachment-list" aria-label="Documents">
          {documents.map((document) => (
            <li key={document.mediaId}>
              <button type="button" className="link" onClick={() => token && void openMedia(document.mediaId, token)}>
                {document.name} <span className="muted">(PDF, {sizeLabel(document.size)})</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function sizeLabel(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
