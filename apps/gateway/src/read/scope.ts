import { ForbiddenException } from '@nestjs/common';
import type { TokenClaims } from '@lastmeter/auth';
import { isDeviceRole, servesAny, type MediaOwner, type StoreRole } from '@lastmeter/contracts';
import type { FeedItem } from '@lastmeter/read-models';

/** Roles that read every store; store-manager and device tokens (terminal, screen) read their own store only. */
export const HQ_READERS = ['hq-admin', 'hq-editor', 'analyst'] as const;
export const STORE_READERS = ['store-manager', 'terminal', 'screen'] as const;

export function isStoreScoped(claims: TokenClaims): boolean {
  return claims.role === 'store-manager' || isDeviceRole(claims.role);
}

/** Whose a medium this token uploads is: its store's, or head office's (docs/media.md). */
export function mediaOwnerOf(claims: TokenClaims): MediaOwner {
  return isStoreScoped(claims) ? { kind: 'store', storeId: claims.storeId! } : { kind: 'head-office' };
}

/** 403 unless the token may read this store. */
export function requireStore(claims: TokenClaims, storeId: string): void {
  if (isStoreScoped(claims) && claims.storeId !== storeId) {
    throw new ForbiddenException(`a ${claims.role} token reads its own store only`);
  }
}

/** The stores a token may see (undefined = all), narrowed by an optional filter. */
export function storesInScope(claims: TokenClaims, storeId?: string): string[] | undefined {
  if (storeId) requireStore(claims, storeId);
  if (isStoreScoped(claims)) return [claims.storeId!];
  return storeId ? [storeId] : undefined;
}

/**
 * docs/design.md section 6: an item restricted to roles the reader does not serve keeps its
 * feedSeq (cursors stay gap-free) but loses its content. HQ and analysts see everything;
 * a store manager serves the store-manager role; a terminal the roles it was enrolled
 * with (none = shared tablet: only unrestricted items).
 */
export function visibleTo(claims: TokenClaims, item: FeedItem): FeedItem | { feedSeq: number; hidden: true } {
  return mayShow(claims, item.communication.roles) ? item : { feedSeq: item.feedSeq, hidden: true };
}

/** Whether content restricted to `restricted` store roles (none: unrestricted) shows to this token. */
export function mayShow(claims: TokenClaims, restricted: readonly StoreRole[] | undefined): boolean {
  if (!isStoreScoped(claims)) return true;
  return servesAny(claims.role === 'store-manager' ? ['store-manager'] : (claims.roles ?? []), restricted);
}
