import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Icon } from './Icon';
import {
  closeConversation, convs, dropPending, isSupervisor, me, messages, pending, selected, take, typing, userName, visitorName, visitorRead,
} from '../store';
import { t } from '../i18n';
import type { Conversation, Msg } from '../types';
import { clockTime, dateTime, fileSize, formatDate } from '../util';
import { Avatar } from './Avatar';
import { Composer } from './Composer';
import { TransferDialog } from './TransferDialog';
import { ChatActions, TagChips } from './ChatActions';

export function ChatView() {
  const id = selected.value;
  const c = id ? convs.value[id] : undefined;
  if (!id || !c) {
    return (
      <section class="chat chat-empty" aria-label={t('chat.label')}>
        <div class="empty-state">
          <div class="empty-icon"><Icon name="chat" size={30} /></div>
          <h2>{t('chat.noneTitle')}</h2>
          <p class="muted">{t('chat.noneHint')}</p>
        </div>
      </section>
    );
  }
  return <Chat c={c} key={c.id} />;
}

function Chat({ c }: { c: Conversation }) {
  const [transferOpen, setTransferOpen] = useState(false);
  const name = visitorName(c);
  const mine = c.status === 'assigned' && c.assignee_id === me.value?.user.id;
  const involved = mine || (c.participants ?? []).some((p) => p.id === me.value?.user.id);
  const closed = c.status === 'closed';
  const waiting = c.status === 'queued' || c.status === 'open';
  const canReply = !closed && (mine || isSupervisor.value);
  return (
    <section class="chat" aria-labelledby="chat-title">
      <header class="chat-head">
        <Avatar id={c.visitor_id} name={name} />
        <div class="chat-title">
          <h1 id="chat-title">{name}</h1>
          <div class="chat-sub">
            <span class={'status-tag st-' + c.status}>{t(('conv.' + c.status) as 'conv.open')}</span>
            {c.assignee_id && <span>{t('chat.assignedTo', { name: c.assignee_name || userName(c.assignee_id) })}</span>}
            {c.department_name && <span>· {c.department_name}</span>}
            {(c.participants ?? []).length > 0 && <span>· {t('chat.participants', { names: (c.participants ?? []).map((p) => p.name).join(', ') })}</span>}
            <TagChips c={c} />
          </div>
        </div>
        <div class="chat-actions">
          {waiting && (
            <button class="btn btn-primary" onClick={() => void take(c.id)}>
              {t('inbox.take')}
            </button>
          )}
          {!closed && (involved || waiting || isSupervisor.value) && (
            <button class="btn" onClick={() => setTransferOpen(true)} data-testid="transfer">
              {t('chat.transfer')}
            </button>
          )}
          <ChatActions c={c} />
          {!closed && (mine || isSupervisor.value) && (
            <button class="btn btn-danger-ghost" data-testid="close-chat" title={t('chat.close') + ' (Alt+W)'}
              onClick={() => {
                if (confirm(t('chat.closeConfirm'))) void closeConversation(c.id);
              }}>
              {t('chat.close')}
            </button>
          )}
        </div>
      </header>
      <MessageList c={c} />
      <TypingPreview conv={c.id} name={name} />
      {closed ? (
        <div class="chat-closed" role="status">
          {t('chat.closedBanner', { at: dateTime(c.closed_at) })}
        </div>
      ) : (
        <Composer c={c} canReply={canReply} />
      )}
      {transferOpen && <TransferDialog c={c} onClose={() => setTransferOpen(false)} />}
    </section>
  );
}

function MessageList({ c }: { c: Conversation }) {
  const ms = messages.value[c.id] ?? [];
  const pend = pending.value[c.id] ?? [];
  const seen = visitorRead.value[c.id] ?? 0;
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // The last of my messages the visitor has read gets the receipt.
  let seenSeq = 0;
  for (const m of ms) if (m.from.kind === 'agent' && m.kind !== 'note' && m.seq <= seen) seenSeq = m.seq;
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [ms.length, pend.length]);
  let lastDay = '';
  return (
    <div class="messages" ref={ref} role="log" aria-live="polite" aria-relevant="additions" aria-label={t('chat.messages')} tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
      }}>
      {ms.length === 0 && pend.length === 0 && <p class="muted center">{t('chat.loading')}</p>}
      {ms.map((m) => {
        const day = new Date(m.at).toDateString();
        const sep = day !== lastDay;
        lastDay = day;
        return (
          <Fragment key={m.seq}>
            {sep && <div class="day-sep"><span>{formatDate(m.at, { weekday: 'long', day: 'numeric', month: 'long' })}</span></div>}
            <Message m={m} seen={m.seq === seenSeq} />
          </Fragment>
        );
      })}
      {pend.map((p) => (
        <div key={p.cmid} class={'msg ' + (p.kind === 'note' ? 'msg-note' : 'msg-agent') + ' msg-pending' + (p.failed ? ' msg-failed' : '')}>
          <div class="bubble">
            {p.kind === 'note' && <div class="note-label">{t('chat.note')}</div>}
            <div class="text">{p.body}</div>
          </div>
          <div class="msg-meta">
            {p.failed ? (
              <>
                <span class="err">{t('chat.sendFailed', { why: p.failed })}</span>{' '}
                <button class="link" onClick={() => dropPending(c.id, p.cmid)}>{t('common.dismiss')}</button>
              </>
            ) : (
              t('chat.sending')
            )}
          </div>
        </div>
      ))}
    </div>
  );
}

function eventText(m: Msg): string {
  const d = (m.data ?? {}) as Record<string, string>;
  switch (m.event) {
    case 'started':
      return t('event.started');
    case 'joined':
      return t('event.joined', { name: d.agent_name ?? m.from.name ?? '' });
    case 'transferred':
      return d.department_name && !d.agent_name
        ? t('event.transferredDept', { from: d.from_name ?? '', to: d.department_name })
        : t('event.transferred', { from: d.from_name ?? '', to: d.agent_name ?? '' });
    case 'left':
      return t('event.left', { name: d.agent_name ?? m.from.name ?? '' });
    case 'closed':
      return t('event.closed', { name: d.by_name ?? m.from.name ?? '' });
    case 'rated':
      return t('event.rated', { score: t(('rating.' + (d.score ?? 'neutral')) as 'rating.good') });
    default:
      return m.event ?? '';
  }
}

function Message({ m, seen }: { m: Msg; seen: boolean }) {
  if (m.kind === 'event') {
    return (
      <div class="msg-event" data-seq={m.seq}>
        <span>{eventText(m)}</span> <time dateTime={m.at}>{clockTime(m.at)}</time>
      </div>
    );
  }
  const side = m.kind === 'note' ? 'msg-note' : m.from.kind === 'visitor' ? 'msg-visitor' : 'msg-agent';
  const mine = m.from.kind === 'agent' && m.from.id === me.value?.user.id;
  return (
    <div class={'msg ' + side + (mine ? ' msg-mine' : '')} data-seq={m.seq} data-kind={m.kind}>
      <div class="bubble">
        {m.kind === 'note' && (
          <div class="note-label">
            <Icon name="lock" size={12} /> {m.data?.whisper ? t('chat.whisperBy', { name: m.from.name ?? '' }) : t('chat.noteBy', { name: m.from.name ?? '' })}
          </div>
        )}
        {m.kind === 'file' && m.file && <FileBox f={m.file} />}
        {m.body && <div class="text">{m.body}</div>}
      </div>
      <div class="msg-meta">
        {m.kind !== 'note' && m.from.kind === 'agent' && !mine && <span>{m.from.name} · </span>}
        <time dateTime={m.at}>{clockTime(m.at)}</time>
        {seen && (
          <span class="seen" data-testid="seen">
            {' '}
            · {t('chat.seen')}
          </span>
        )}
      </div>
    </div>
  );
}

function FileBox({ f }: { f: NonNullable<Msg['file']> }) {
  const image = /^image\/(png|jpeg|gif|webp)$/.test(f.type);
  return (
    <a class="file" href={f.url} target="_blank" rel="noopener noreferrer" download={f.name}>
      {image ? <img src={f.url} alt={f.name} loading="lazy" /> : <span class="file-icon"><Icon name="file" size={22} /></span>}
      <span class="file-name">{f.name}</span>
      <span class="file-size">{fileSize(f.size)}</span>
    </a>
  );
}

function TypingPreview({ conv, name }: { conv: string; name: string }) {
  const ty = typing.value[conv];
  const [, tick] = useState(0);
  // A typing indicator that is not refreshed fades after a few seconds.
  useEffect(() => {
    if (!ty?.on) return;
    const id = window.setTimeout(() => tick((n) => n + 1), 6500);
    return () => window.clearTimeout(id);
  }, [ty]);
  if (!ty?.on || Date.now() - ty.at > 6000) return <div class="typing" aria-hidden="true" />;
  return (
    <div class="typing on" data-testid="typing">
      <span class="dots" aria-hidden="true"><i /><i /><i /></span>
      <span>{t('chat.typing', { name })}</span>
      {ty.text && (
        <span class="typing-preview" data-testid="typing-preview" title={t('chat.previewTitle')}>
          “{ty.text}”
        </span>
      )}
    </div>
  );
}
