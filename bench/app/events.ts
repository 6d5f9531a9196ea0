/**
 * The events every target writes: the same types and the same ~200 bytes of JSON data, so
 * that the targets store the same bytes.
 */

/** The event types the workloads cycle through (four, so the type index has some spread). */
export const EVENT_TYPES = ['ItemAdded', 'ItemRemoved', 'QuantityChanged', 'CheckedOut'] as const;

/** The data of the i-th event. */
export interface BenchEventData {
  orderId: string;
  sku: string;
  qty: number;
  unitPrice: number;
  currency: string;
  warehouse: string;
  seq: number;
  note: string;
}

/** The type of the i-th event. */
export function eventType(i: number): string {
  return EVENT_TYPES[i % EVENT_TYPES.length]!;
}

/** The data of the i-th event: about 200 bytes once serialised. */
export function eventData(i: number): BenchEventData {
  return {
    orderId: `order-${String(i % 100_000).padStart(6, '0')}`,
    sku: `SKU-${String((i * 7919) % 10_000).padStart(4, '0')}-BLUE-L`,
    qty: 1 + (i % 9),
    unitPrice: 100 + ((i * 31) % 5000),
    currency: 'EUR',
    warehouse: 'eu-west-2',
    seq: i,
    note: 'Leave at the front desk; call on arrival if nobody answers.',
  };
}

/** `count` events starting at index `from`, as the page API takes them. */
export function makeEvents(from: number, count: number): { type: string; data: BenchEventData }[] {
  const events = new Array<{ type: string; data: BenchEventData }>(count);
  for (let i = 0; i < count; i++) events[i] = { type: eventType(from + i), data: eventData(from + i) };
  return events;
}
