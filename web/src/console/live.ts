import { createContext, useContext, useEffect, useState } from 'react';
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

export const LiveContext = createContext<{ socket?: Socket; connected: boolean }>({ connected: false });

/**
 * The console's `/console` socket: presence and reports are pushed into the query cache
 * as they happen, so every board updates without a reload. Reach is per communication
 * (useLiveReach).
 */
export function useConsoleSocket(session: Session | undefined) {
  const client = useQueryClient();
  const [state, setState] = useState<{ socket?: Socket; connected: boolean }>({ connected: false });
  useEffect(() => {
    if (!session || session.role === 'agency') return;
    const socket = io(CONSOLE_NAMESPACE, { auth: { token: session.token }, transports: ['websocket'] });
    setState({ socket, connected: false });
    socket.on('connect', () => {
      setState({ socket, connected: true });
      // Anything missed while disconnected is read again.
      void client.invalidateQueries({ queryKey: ['presence'] });
      void client.invalidateQueries({ queryKey: ['reports'] });
    });
    socket.on('disconnect', () => setState({ socket, connected: false }));
    socket.on('presence', (store: StorePresence) => {
      client.setQueryData<{ items: StorePresence[] }>(['presence'], (current) => {
        const items = (current?.items ?? []).filter((s) => s.storeId !== store.storeId);
        return { items: [...items, store].sort((a, b) => a.storeId.localeCompare(b.storeId)) };
      });
    });
    socket.on('report', (report: ReportView) => {
      client.setQueryData<Page<ReportView>>(['reports'], (current) => ({
        ...current,
        items: [report, ...(current?.items ?? []).filter((r) => r.reportId !== report.reportId)],
      }));
    });
    return () => {
      socket.close();
    };
  }, [session, client]);
  return state;
}

/** Reach of one communication: the current report on `watch`, then every live update. */
export function useLiveReach(communicationId: string | undefined) {
  const { socket, connected } = useContext(LiveContext);
  const [reach, setReach] = useState<ReachReport>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setReach(undefined);
    if (!socket || !connected || !communicationId) return;
    const onReach = (report: ReachReport) => {
      if (report.communicationId === communicationId) setReach(report);
    };
    socket.on('reach', onReach);
    socket.emit(
      'watch',
      { communicationId },
      (ack: { ok: boolean; reach?: ReachReport; error?: { message: string } }) => {
        if (ack.ok) setReach(ack.reach);
        else setError(ack.error?.message);
      },
    );
    return () => {
      socket.off('reach', onReach);
      socket.emit('unwatch', { communicationId });
    };
  }, [socket, connected, communicationId]);
  return { reach, error, live: connected };
}
