/** Every BullMQ queue the service uses. */
/** `operations`: the work behind ARM's asynchronous operations; `maintenance`: periodic and background upkeep. */
export const QUEUE_NAMES = ['operations', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
