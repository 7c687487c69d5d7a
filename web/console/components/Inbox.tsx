import { useEffect, useState } from 'preact/hooks';
import { allOpen, go, inboxTab, isSupervisor, me, myChats, offlineOpen, queue, select, selected, setStatus, take, unreadOf, visitorName, type InboxTab } from '../store';
import { t } from '../i18n';
import type { Conversation } from '../types';
import { clockTime, since } from '../util';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

/** A clock that ticks every few seconds for wait times. */
export function useNow(every = 5000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), every);
    return () => window.clearInterval(id);
  }, [every]);
  return now;
}

export function Inbox() {
  const now = useNow();
  const tabs: [InboxTab, string, number, boolean][] = [
    ['mine', t('inbox.mine'), myChats.value.length, true],
    ['queue', t('inbox.queue'), queue.value.length, true],
    ['all', t('inbox.all'), allOpen.value.length, isSupervisor.value],
  ];
  const list = inboxTab.value === 'queue' ? queue.value : inboxTab.value === 'all' ? allOpen.value : myChats.value;
  const status = me.value?.user.status;
  return (
    <aside class="inbox" aria-label={t('inbox.label')}>
      {status !== 'online' && (
        <div class="away-bar" role="status">
          <span>{status === 'away' ? t('inbox.awayHint') : t('inbox.offlineHint')}</span>
          <button class="btn btn-sm btn-primary" onClick={() => void setStatus('online')}>
            {t('inbox.goOnline')}
          </button>
        </div>
      )}
      <div class="tabs" role="tablist" aria-label={t('inbox.label')}>
        {tabs
          .filter(([, , , ok]) => ok)
          .map(([id, label, n]) => (
            <button key={id} role="tab" id={'tab-' + id} aria-selected={inboxTab.value === id} aria-controls="inbox-list"
              class={'tab' + (inboxTab.value === id ? ' active' : '') + (id === 'queue' && n > 0 ? ' attention' : '')}
              onClick={() => (inboxTab.value = id)}>
              {label}
              <span class="count" data-testid={'count-' + id}>{n}</span>
            </button>
          ))}
      </div>
      <div class="conv-scroll" id="inbox-list" role="tabpanel" aria-labelledby={'tab-' + inboxTab.value}>
      <ul class="conv-list">
        {list.length === 0 && <li class="empty">{t(('inbox.empty.' + inboxTab.value) as 'inbox.empty.mine')}</li>}
        {list.map((c, i) => (
          <Item key={c.id} c={c} index={i} now={now} />
        ))}
      </ul>
      </div>
      <button class="inbox-offline" data-testid="inbox-offline" onClick={() => go('offline')}>
        <Icon name="mail" />
        <span>{t('nav.offline')}</span>
        {offlineOpen.value > 0 && (
          <span class="badge">
            <span aria-hidden="true">{offlineOpen.value}</span>
            <span class="sr-only">{t('offline.openCount', { n: offlineOpen.value })}</span>
          </span>
        )}
      </button>
    </aside>
  );
}

function Item({ c, index, now }: { c: Conversation; index: number; now: number }) {
  const name = visitorName(c);
  const unread = unreadOf(c);
  const waiting = c.status === 'queued' || c.status === 'open';
  const active = selected.value === c.id;
  return (
    <li class={'conv' + (active ? ' active' : '') + (unread ? ' unread' : '')} data-conv={c.id}>
      <button class="conv-main" aria-current={active ? 'true' : undefined} onClick={() => select(c.id)}>
        <Avatar id={c.visitor_id} name={name} />
        <span class="conv-body">
          <span class="conv-top">
            <span class="conv-name">{name}</span>
            <span class="conv-time">
              {waiting ? (
                <span class="wait" title={t('inbox.waitTitle')}>
                  <span class="sr-only">{t('inbox.waitTitle')}: </span>
                  <Icon name="clock" size={12} /> {c.wait_seconds !== undefined && !c.queued_at ? since(new Date(Date.now() - c.wait_seconds * 1000).toISOString(), now) : since(c.queued_at ?? c.created_at, now)}
                </span>
              ) : (
                clockTime(c.last_message_at ?? c.last_activity_at)
              )}
            </span>
          </span>
          <span class="conv-bottom">
            <span class="conv-preview">{c.preview || '\u00a0'}</span>
            {unread > 0 && (
              <span class="badge" data-testid="unread">
                <span aria-hidden="true">{unread}</span>
                <span class="sr-only">{t('inbox.unread', { n: unread })}</span>
              </span>
            )}
          </span>
          {(c.tags?.length || c.department_name || (inboxTab.value === 'all' && c.assignee_name)) && (
            <span class="conv-meta">
              {inboxTab.value === 'all' && c.assignee_name && <span class="who">{c.assignee_name}</span>}
              {c.department_name && <span class="dept-chip">{c.department_name}</span>}
              {c.tags?.map((tg) => (
                <span class="tag-chip" key={tg.id}>
                  {tg.color && <i class="tag-dot" style={{ background: tg.color }} />}
                  {tg.name}
                </span>
              ))}
            </span>
          )}
        </span>
        {index < 9 && <kbd class="conv-key" aria-hidden="true">Alt+{index + 1}</kbd>}
      </button>
      {waiting && (
        <button class="btn btn-primary btn-sm take" onClick={() => void take(c.id)}>
          {t('inbox.take')}
        </button>
      )}
    </li>
  );
}
