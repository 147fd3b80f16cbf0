/** Records that arrive one at a time (webhook events, notes), upserted by id in a sink. */
export interface EventRecord {
  table: 'webhook_events' | 'notes';
  id: string;
  /** Text columns; null for absent. */
  fields: Record<string, string | null>;
  /** The whole payload, as JSON text. */
  payload: string;
}

export interface EventStore {
  saveEvent(record: EventRecord): Promise<void>;
}

export const EVENT_COLUMNS: Record<EventRecord['table'], string[]> = {
  webhook_events: ['event_name', 'received_at'],
  notes: [
    'created',
    'author',
    'text',
    'session_url',
    'user_url',
    'share_link',
    'noted_time',
    'page_url',
    'received_at',
  ],
};
