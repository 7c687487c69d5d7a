// Shapes of the console API's JSON (docs/console-api.md, docs/protocol.md).

export type Role = 'owner' | 'admin' | 'supervisor' | 'agent';
export type Presence = 'online' | 'away' | 'offline';
export type ConvStatus = 'open' | 'queued' | 'assigned' | 'closed';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: Presence;
  max_chats: number;
  disabled: boolean;
  departments: string[] | null;
  language?: string;
  load?: number;
  last_active_at?: string;
  photo_url?: string;
}

export interface Me {
  user: User;
  tenant: { id: string; name: string };
  csrf_token: string;
  load?: { active: number; max: number };
  /** Offline messages nobody has handled yet. */
  offline_open?: number;
}

/** A message a shopper left in the widget's offline form. */
export interface OfflineItem {
  id: string;
  name: string;
  email: string;
  message: string;
  language: string;
  page: string;
  created_at: string;
  site_id: string;
  site_name: string;
  visitor_id: string;
  handled_at: string | null;
  handled_by: string;
  handled_by_name: string;
  reply: string;
  replied_at: string | null;
  replied_by: string;
}

export interface Tag {
  id: string;
  name: string;
  color?: string;
}

export interface Conversation {
  id: string;
  site_id: string;
  visitor_id: string;
  previous_id?: string;
  epoch: string;
  status: ConvStatus;
  department_id?: string;
  assignee_id?: string;
  last_seq: number;
  last_visitor_seq: number;
  closed_by?: string;
  created_at: string;
  queued_at?: string;
  assigned_at?: string;
  closed_at?: string;
  last_message_at?: string;
  last_activity_at: string;
  // Inbox items carry these besides the conversation.
  visitor_name?: string;
  visitor_email?: string;
  assignee_name?: string;
  department_name?: string;
  preview?: string;
  unread?: number;
  wait_seconds?: number;
  tags?: Tag[] | null;
  participants?: { id: string; name: string }[] | null;
}

/** A row of the supervisor board and of `agent` frames. */
export interface AgentState {
  id: string;
  name: string;
  role: Role;
  status: Presence;
  load: number;
  max_chats: number;
  departments: string[] | null;
  connected: boolean;
  last_active_at?: string;
  photo_url?: string;
}

export interface Page {
  url: string;
  title?: string;
  at?: string;
}

export interface Panel {
  visitor: Visitor;
  site: { id: string; name: string; timezone: string } | null;
  current_page: Page | null;
  pages: Page[] | null;
  referrer: string;
  user_agent: string;
  device: string;
  browser: string;
  os: string;
  timezone: string;
  local_time: string;
  earlier: Conversation[] | null;
}

export interface FileRef {
  id: string;
  name: string;
  type: string;
  size: number;
  url: string;
}

export type MsgKind = 'text' | 'file' | 'event' | 'note';

export interface Msg {
  id: string;
  seq: number;
  vseq?: number;
  kind: MsgKind;
  from: { kind: 'visitor' | 'agent' | 'system'; id?: string; name?: string };
  body: string;
  event?: string;
  data?: Record<string, unknown>;
  file?: FileRef;
  cmid?: string;
  at: string;
  whisper?: boolean;
}

export interface Visitor {
  id: string;
  site_id: string;
  name: string;
  email: string;
  customer_id?: string;
  language: string;
  attributes: Record<string, string> | null;
  created_at: string;
  last_seen_at: string;
}

export interface Site {
  id: string;
  widget_key: string;
  name: string;
  language: string;
  timezone: string;
  allowed_origins: string[];
  settings: SiteSettings;
  embed_snippet?: string;
}

export interface SiteSettings {
  color: string;
  position: 'right' | 'left';
  greeting: Record<string, string>;
  typing_preview: boolean;
  prechat?: PrechatForm;
  [k: string]: unknown;
}

export interface PrechatField {
  name: 'name' | 'email' | 'phone' | 'message';
  required: boolean;
}

export interface PrechatForm {
  enabled: boolean;
  fields: PrechatField[] | null;
}

export interface Department {
  id: string;
  name: string;
}

export interface Canned {
  id: string;
  shortcut: string;
  title: string;
  body: string;
  department_id?: string;
  /** The body expanded for one conversation (GET /conversations/{id}/canned). */
  text?: string;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}
