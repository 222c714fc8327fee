import { createContext, useContext, useEffect, useMemo, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { useQueryClient } from '@tanstack/react-query';
import {
  CONSOLE_NAMESPACE,
  type Page,
  type ReachReport,
  type ReportView,
  type StorePresence,
} from '@lastmeter/contracts';
import type { Session } from '../shared/session';

/** What `/console` pushes for a watched communication: overall and by region, no per-store rows. */
export type RegionReach = Omit<ReachReport, 'byStore'>;

export const LiveContext = createContext<{ socket?: Socket; connected: boolean }>({ connected: false });

/**
 * The console's `/console` socket: presence and reports are pushed into the query cache
 * as they happen, so every board updates without a reload. Reach is per communication
 * (useLiveReach).
 */
export function useConsoleSocket(session: Session | undefined) {
  const client = useQueryClient();
  const socket = useMemo(
    () =>
      session && session.role !== 'agency'
        ? io(CONSOLE_NAMESPACE, { auth: { token: session.token }, transports: ['websocket'], autoConnect: false })
        : undefined,
    [session],
  );
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!socket) return;
    socket.on('connect', () => {
      setConnected(true);
      // Anything missed while disconnected is read again.
      void client.invalidateQueries({ queryKey: ['presence'] });
      void client.invalidateQueries({ queryKey: ['reports'] });
    });
    socket.on('disconnect', () => setConnected(false));
    socket.on('presence', (store: StorePresence) => {
      // Each page of the board lists every store of its page: a store on it is replaced in place.
      client.setQueriesData<{ items: StorePresence[]; next?: string }>({ queryKey: ['presence'] }, (current) =>
        current ? { ...current, items: current.items.map((s) => (s.storeId === store.storeId ? store : s)) } : current,
      );
    });
    socket.on('report', (report: ReportView) => {
      client.setQueryData<Page<ReportView>>(['reports'], (current) => ({
        ...current,
        items: [report, ...(current?.items ?? []).filter((r) => r.reportId !== report.reportId)],
      }));
    });
    socket.connect();
    return () => {
      socket.removeAllListeners();
      socket.close();
    };
  }, [socket, client]);
  return { socket, connected: connected && !!socket?.connected };
}

/**
 * Reach of one communication: the current report on `watch`, then every live update, overall and
 * by region (a push is the same size at 50,000 stores; a region's stores are read over HTTP).
 */
export function useLiveReach(communicationId: string | undefined) {
  const { socket, connected } = useContext(LiveContext);
  // Kept with the id it belongs to, so switching communications never shows the previous one's reach.
  const [state, setState] = useState<{ id: string; reach?: RegionReach; error?: string }>();
  useEffect(() => {
    if (!socket || !connected || !communicationId) return;
    const onReach = (report: RegionReach) => {
      if (report.communicationId === communicationId) setState({ id: communicationId, reach: report });
    };
    socket.on('reach', onReach);
    socket.emit(
      'watch',
      { communicationId },
      (ack: { ok: boolean; reach?: RegionReach; error?: { message: string } }) =>
        setState(
          ack.ok ? { id: communicationId, reach: ack.reach } : { id: communicationId, error: ack.error?.message },
        ),
    );
    return () => {
      socket.off('reach', onReach);
      socket.emit('unwatch', { communicationId });
    };
  }, [socket, connected, communicationId]);
  const current = state?.id === communicationId ? state : undefined;
  return { reach: current?.reach, error: current?.error, live: connected };
}
