// Messages between the loader on the shop's page (host) and the widget
// frame. Both sides check the other's exact origin and window.

/** Host → frame. */
export type HostMsg =
  | { tiski: 1; type: 'page'; url: string; title: string; referrer: string; lang: string; vw: number }
  | { tiski: 1; type: 'viewport'; vw: number }
  | { tiski: 1; type: 'settings'; settings: Record<string, unknown> }
  | { tiski: 1; type: 'api'; cmd: string; args: unknown[] };

/** Frame → host. */
export type FrameMsg =
  | { type: 'ready' }
  | { type: 'size'; open: boolean; w: number; h: number; side: 'left' | 'right' }
  | { type: 'event'; name: string; data?: unknown };
