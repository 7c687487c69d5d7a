import { useEffect, useState } from 'preact/hooks';
import { agents, allOpen, departments, loadBoard, loadInbox, queue, select, visitorName, whisper, api_assign } from '../store';
import { t } from '../i18n';
import type { AgentState, Conversation } from '../types';
import { since, dateTime } from '../util';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { useNow } from './Inbox';

/** The live board: agents with status and load, the queue, every open chat. */
export function Supervisor() {
  const now = useNow(5000);
  const [whisperTo, setWhisperTo] = useState<Conversation | null>(null);
  const [assignFor, setAssignFor] = useState<Conversation | null>(null);
  useEffect(() => {
    void loadBoard();
    void loadInbox();
  }, []);
  const list = Object.values(agents.value).sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
  const online = list.filter((a) => a.status === 'online');
  const waiting = queue.value.filter((c) => c.status === 'queued');
  const longest = waiting[0];
  const active = allOpen.value.filter((c) => c.status === 'assigned');
  const capacity = online.reduce((n, a) => n + Math.max(0, a.max_chats - a.load), 0);
  return (
    <main class="page" aria-labelledby="board-title">
      <div class="page-head">
        <div>
          <h1 id="board-title">{t('board.title')}</h1>
          <p class="muted">{t('board.subtitle')}</p>
        </div>
      </div>
      <div class="cards">
        <Stat label={t('board.online')} value={`${online.length} / ${list.length}`} />
        <Stat label={t('board.active')} value={String(active.length)} />
        <Stat label={t('board.waiting')} value={String(waiting.length)} sub={longest ? t('board.longest', { t: since(longest.queued_at ?? longest.created_at, now) }) : ''} alert={waiting.length > 0} />
        <Stat label={t('board.capacity')} value={String(capacity)} sub={t('board.capacityHint')} />
      </div>
      <div class="grid-2">
        <section class="card" aria-labelledby="agents-title">
          <div class="card-head">
            <h2 id="agents-title">{t('board.agents')}</h2>
          </div>
          <table class="table" data-testid="board-agents">
            <thead>
              <tr>
                <th scope="col">{t('board.agent')}</th>
                <th scope="col">{t('board.status')}</th>
                <th scope="col">{t('board.load')}</th>
                <th scope="col">{t('board.lastActive')}</th>
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={4} class="empty-row">{t('common.loading')}</td>
                </tr>
              )}
              {list.map((a) => (
                <tr key={a.id} data-agent={a.id}>
                  <td>
                    <span class="person">
                      <Avatar id={a.id} name={a.name} photo={a.photo_url} small />
                      <span>
                        {a.name}
                        <small>{t(('role.' + a.role) as 'role.agent')}{deptNames(a)}</small>
                      </span>
                    </span>
                  </td>
                  <td>
                    <span class={'presence presence-' + a.status}>{t(('status.' + a.status) as 'status.online')}</span>
                    {!a.connected && a.status !== 'offline' && <small class="muted"> · {t('board.noConsole')}</small>}
                  </td>
                  <td class="num">
                    <span class={'meter' + (a.load >= a.max_chats ? ' full' : '')} aria-hidden="true">
                      <i style={{ width: `${Math.min(100, (a.load / Math.max(1, a.max_chats)) * 100)}%` }} />
                    </span>
                    {a.load}/{a.max_chats}
                  </td>
                  <td class="muted">{a.last_active_at ? t('time.ago', { t: since(a.last_active_at, now) }) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section class="card" aria-labelledby="queue-title">
          <div class="card-head">
            <h2 id="queue-title">{t('board.queue')}</h2>
            <span class="status-tag st-queued">{waiting.length}</span>
          </div>
          <ul class="list-plain" data-testid="board-queue">
            {queue.value.length === 0 && <li class="muted">{t('inbox.empty.queue')}</li>}
            {queue.value.map((c) => (
              <li key={c.id}>
                <Avatar id={c.visitor_id} name={visitorName(c)} small />
                <span class="grow-text">
                  <strong>{visitorName(c)}</strong>
                  <small class="muted">{c.department_name ? c.department_name + ' · ' : ''}{c.preview}</small>
                </span>
                <span class="wait">{since(c.queued_at ?? c.created_at, now)}</span>
                <button class="btn btn-sm" onClick={() => setAssignFor(c)}>{t('board.assign')}</button>
              </li>
            ))}
          </ul>
        </section>
      </div>
      <section class="card section-gap" aria-labelledby="open-title">
        <div class="card-head">
          <h2 id="open-title">{t('board.open')}</h2>
        </div>
        <table class="table" data-testid="board-open">
          <thead>
            <tr>
              <th scope="col">{t('board.visitor')}</th>
              <th scope="col">{t('board.agent')}</th>
              <th scope="col">{t('board.lastMessage')}</th>
              <th scope="col">{t('board.started')}</th>
              <th scope="col"><span class="sr-only">{t('board.actions')}</span></th>
            </tr>
          </thead>
          <tbody>
            {active.length === 0 && (
              <tr>
                <td colSpan={5} class="empty-row">{t('inbox.empty.all')}</td>
              </tr>
            )}
            {active.map((c) => (
              <tr key={c.id}>
                <td>
                  <span class="person">
                    <Avatar id={c.visitor_id} name={visitorName(c)} small />
                    <span>
                      {visitorName(c)}
                      <small class="ellipsis">{c.preview}</small>
                    </span>
                  </span>
                </td>
                <td>{c.assignee_name}</td>
                <td class="muted">{t('time.ago', { t: since(c.last_message_at ?? c.last_activity_at, now) })}</td>
                <td class="muted">{dateTime(c.created_at)}</td>
                <td>
                  <div class="row-actions">
                    <button class="btn btn-sm" onClick={() => select(c.id)}>{t('board.openChat')}</button>
                    <button class="btn btn-sm" onClick={() => setWhisperTo(c)}>{t('board.whisper')}</button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {whisperTo && <WhisperDialog c={whisperTo} onClose={() => setWhisperTo(null)} />}
      {assignFor && <AssignDialog c={assignFor} onClose={() => setAssignFor(null)} />}
    </main>
  );
}

function rank(a: AgentState) {
  return a.status === 'online' ? 0 : a.status === 'away' ? 1 : 2;
}

function deptNames(a: AgentState) {
  const names = (a.departments ?? []).map((id) => departments.value.find((d) => d.id === id)?.name).filter(Boolean);
  return names.length ? ' · ' + names.join(', ') : '';
}

function Stat({ label, value, sub, alert }: { label: string; value: string; sub?: string; alert?: boolean }) {
  return (
    <div class={'card card-pad stat' + (alert ? ' stat-alert' : '')}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub && <div class="muted stat-sub">{sub}</div>}
    </div>
  );
}

function WhisperDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const [body, setBody] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await whisper(c.id, body.trim())) onClose();
  };
  return (
    <Dialog title={t('board.whisperTitle', { name: visitorName(c) })} onClose={onClose}>
      <form onSubmit={submit}>
        <p class="muted">{t('board.whisperHint', { agent: c.assignee_name ?? '' })}</p>
        <label class="field">
          <span>{t('board.whisper')}</span>
          <textarea rows={3} value={body} maxLength={5000} required onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn-note" disabled={!body.trim()}>{t('board.sendWhisper')}</button>
        </div>
      </form>
    </Dialog>
  );
}

function AssignDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const choices = Object.values(agents.value).filter((a) => a.status === 'online' && a.load < a.max_chats);
  const [to, setTo] = useState(choices[0]?.id ?? '');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await api_assign(c.id, to)) onClose();
  };
  return (
    <Dialog title={t('board.assignTitle', { name: visitorName(c) })} onClose={onClose}>
      <form onSubmit={submit}>
        <label class="field">
          <span>{t('transfer.to')}</span>
          <select value={to} required onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
            {choices.length === 0 && <option value="">{t('board.nobodyFree')}</option>}
            {choices.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} — {a.load}/{a.max_chats}
              </option>
            ))}
          </select>
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn-primary" disabled={!to}>{t('board.assign')}</button>
        </div>
      </form>
    </Dialog>
  );
}
