/** Every BullMQ queue the service uses. */
export const QUEUE_NAMES = ['operations'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
