import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { errorText, offlineArrived, offlineOpen, showToast } from '../store';
import { t } from '../i18n';
import type { OfflineItem, Site } from '../types';
import { dateTime } from '../util';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

type State = 'open' | 'handled' | '';

interface Page {
  messages: OfflineItem[];
  open: number;
  next?: { before: string; before_id: string };
}

/** Only web pages are linked; anything else is shown as text. */
function safeURL(u: string): string | null {
  try {
    const p = new URL(u);
    return p.protocol === 'https:' || p.protocol === 'http:' ? p.href : null;
  } catch {
    return null;
  }
}

/** The messages shoppers left in the widget while nobody was online. */
export function Offline() {
  const [state, setState] = useState<State>('open');
  const [site, setSite] = useState('');
  const [sites, setSites] = useState<Site[]>([]);
  const [rows, setRows] = useState<OfflineItem[] | null>(null);
  const [next, setNext] = useState<Page['next']>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const load = async (more = false) => {
    setBusy(true);
    setError('');
    try {
      const r = await api<Page>('GET', '/offline' + query({ state, site, limit: 50, ...(more && next ? next : {}) }));
      setRows(more && rows ? [...rows, ...r.messages] : r.messages);
      setNext(r.next);
      offlineOpen.value = r.open;
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  // A new message shows at once (items keep their open composers: keyed by id).
  useEffect(() => {
    void load();
  }, [state, site, offlineArrived.value]);
  useEffect(() => {
    api<{ sites: Site[] }>('GET', '/sites').then((r) => setSites(r.sites), () => setSites([]));
  }, []);

  // After an action the item changes in place; it leaves a filtered list
  // only on the next load, so the agent sees what they did.
  const changed = (it: OfflineItem) => {
    setRows((rs) => rs && rs.map((x) => (x.id === it.id ? it : x)));
    void api<Page>('GET', '/offline' + query({ limit: 1 })).then((r) => (offlineOpen.value = r.open), () => {});
  };

  const states: [State, string][] = [['open', t('offline.open')], ['handled', t('offline.handled')], ['', t('offline.all')]];
  return (
    <main class="page page-offline" aria-labelledby="offline-title">
      <div class="page-head">
        <div>
          <h1 id="offline-title">{t('offline.title')}</h1>
          <p class="muted">{t('offline.subtitle')}</p>
        </div>
        <div class="offline-filters">
          <div class="segmented" role="group" aria-label={t('offline.state')}>
            {states.map(([s, label]) => (
              <button key={s || 'all'} class={'seg' + (state === s ? ' active' : '')} aria-pressed={state === s} onClick={() => setState(s)}>
                {label}
                {s === 'open' && <span class="count" data-testid="offline-open-count">{offlineOpen.value}</span>}
              </button>
            ))}
          </div>
          {sites.length > 1 && (
            <label class="field field-inline">
              <span>{t('offline.site')}</span>
              <select value={site} onChange={(e) => setSite((e.target as HTMLSelectElement).value)}>
                <option value="">{t('offline.anySite')}</option>
                {sites.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
              </select>
            </label>
          )}
        </div>
      </div>
      {error && <p class="form-error" role="alert">{error}</p>}
      <section aria-live="polite" aria-busy={busy} data-testid="offline-list">
        {rows?.length === 0 && <p class="card card-pad empty-row">{t('offline.none')}</p>}
        <ul class="offline-list">
          {rows?.map((m) => <Item key={m.id} m={m} onChange={changed} />)}
        </ul>
        {next && (
          <div class="card-foot">
            <button class="btn" disabled={busy} onClick={() => void load(true)}>{t('offline.more')}</button>
          </div>
        )}
      </section>
    </main>
  );
}

function Item({ m, onChange }: { m: OfflineItem; onChange: (it: OfflineItem) => void }) {
  const [composing, setComposing] = useState(false);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const page = m.page ? safeURL(m.page) : null;
  const headId = 'offline-' + m.id;

  const act = async (fn: () => Promise<OfflineItem>, ok?: string) => {
    setBusy(true);
    setError('');
    try {
      onChange(await fn());
      if (ok) showToast(ok);
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const setHandled = (handled: boolean) =>
    act(() => api<OfflineItem>('PUT', `/offline/${encodeURIComponent(m.id)}/handled`, { handled }));
  const send = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return;
    if (await act(() => api<OfflineItem>('POST', `/offline/${encodeURIComponent(m.id)}/reply`, { text }), t('offline.sent'))) {
      setComposing(false);
      setText('');
    }
  };

  return (
    <li class={'card offline-item' + (m.handled_at ? ' handled' : '')} data-offline={m.id} aria-labelledby={headId}>
      <div class="offline-head">
        <Avatar id={m.visitor_id} name={m.name} />
        <div class="offline-who">
          <h2 id={headId} class="offline-name">{m.name}</h2>
          <a class="offline-email" href={'mailto:' + encodeURIComponent(m.email).replace(/%40/g, '@')}>{m.email}</a>
        </div>
        <div class="offline-meta">
          <span class="site-chip">{m.site_name}</span>
          <time dateTime={m.created_at}>{dateTime(m.created_at)}</time>
          {m.handled_at ? (
            <span class="status-tag status-handled" data-testid="offline-state">{t('offline.handled')}</span>
          ) : (
            <span class="status-tag status-open" data-testid="offline-state">{t('offline.open')}</span>
          )}
        </div>
      </div>
      <p class="offline-text" data-testid="offline-text">{m.message}</p>
      {m.page && (
        <p class="offline-page muted">
          {t('offline.page')}:{' '}
          {page ? <a href={page} target="_blank" rel="noopener noreferrer">{m.page}</a> : <span>{m.page}</span>}
        </p>
      )}
      {m.replied_at && (
        <div class="offline-reply" data-testid="offline-reply">
          <p class="muted"><Icon name="mail" size={14} /> {t('offline.repliedAt', { time: dateTime(m.replied_at) })}</p>
          <p class="offline-text">{m.reply}</p>
        </div>
      )}
      {m.handled_at && m.handled_by_name && !m.replied_at && (
        <p class="muted offline-handled">{t('offline.handledBy', { name: m.handled_by_name, time: dateTime(m.handled_at) })}</p>
      )}
      {error && <p class="form-error" role="alert">{error}</p>}
      {composing ? (
        <form class="offline-composer" onSubmit={send}>
          <label class="field">
            <span>{t('offline.replyLabel', { email: m.email })}</span>
            <textarea rows={5} value={text} maxLength={10000} required data-testid="offline-reply-text"
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} ref={(el) => el?.focus()} />
          </label>
          <p class="muted small">{t('offline.replyHint')}</p>
          <div class="filters-actions">
            <button type="button" class="btn" onClick={() => setComposing(false)}>{t('offline.cancel')}</button>
            <button type="submit" class="btn btn-primary" disabled={busy || !text.trim()}>{t('offline.send')}</button>
          </div>
        </form>
      ) : (
        <div class="offline-actions">
          {!m.replied_at && (
            <button class="btn btn-primary btn-sm" onClick={() => setComposing(true)}>
              <Icon name="mail" size={14} /> {t('offline.reply')}
            </button>
          )}
          {m.handled_at ? (
            <button class="btn btn-sm" disabled={busy} onClick={() => void setHandled(false)}>{t('offline.reopen')}</button>
          ) : (
            <button class="btn btn-sm" disabled={busy} onClick={() => void setHandled(true)}>{t('offline.markHandled')}</button>
          )}
        </div>
      )}
    </li>
  );
}
