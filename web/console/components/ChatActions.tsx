import type { Conversation } from '../types';

// Tags and the transcript mail join here as the API offers them.
export function ChatActions(_: { c: Conversation }) {
  return null;
}
