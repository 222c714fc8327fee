/** Facts from stores, on lastmeter.store-events.v1 keyed by store id (issue "Realtime"). */
export interface ReceiptData {
  storeId: string;
  terminalId: string;
  communicationId: string;
  revision: number;
}

export interface StoreActivityEventData {
  'receipt.delivered': ReceiptData;
  'receipt.read': ReceiptData;
  'receipt.acknowledged': ReceiptData;
  'task.completed': ReceiptData & { note?: string; photoUrl?: string };
  'quiz.answered': ReceiptData & { answers: number[]; score: number };
  'report.filed': { storeId: string; reportId: string; title: string; body: string; authorId: string };
  'terminal.connected': { storeId: string; terminalId: string; gatewayId: string };
  'terminal.disconnected': { storeId: string; terminalId: string; gatewayId: string; reason: string };
}
