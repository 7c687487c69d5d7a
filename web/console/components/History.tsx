import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api';
import { departments, errorText, select, tags, users, visitorName } from '../store';
import { t } from '../i18n';
import type { Conversation } from '../types';
import { dateTime } from '../util';
import { Avatar } from './Avatar';

interface Filters {
  q: string;
  visitor: string;
  email: string;
  tag: string;
  department: string;
  agent: string;
  from: string;
  to: string;
}

const empty: Filters = { q: '', visitor: '', email: '', tag: '', department: '', agent: '', from: '', to: '' };

/** Closed conversations, searchable by text, visitor, email, tag, department, agent and date. */
export function History() {
  const [f, setF] = useState<Filters>(empty);
  const [rows, setRows] = useState<Conversation[] | null>(null);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const search = async (more = false) => {
    setBusy(true);
    setError('');
    try {
      // `to` is exclusive on the server: the chosen day is included.
      const to = f.to ? new Date(Date.parse(f.to) + 86400000).toISOString().slice(0, 10) : '';
      const r = await api<{ conversations: Conversation[]; next_cursor?: string }>(
        'GET',
        '/history' + query({ ...f, to, limit: 50, cursor: more ? cursor : undefined }),
      );
      setRows(more && rows ? [...rows, ...r.conversations] : r.conversations);
      setCursor(r.next_cursor);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void search();
  }, []);
  const field = (k: keyof Filters) => ({
    value: f[k],
    onInput: (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value }),
  });
  return (
    <main class="page" aria-labelledby="history-title">
      <div class="page-head">
        <div>
          <h1 id="history-title">{t('history.title')}</h1>
          <p class="muted">{t('history.subtitle')}</p>
        </div>
      </div>
      <section class="card">
        <form class="filters" role="search" onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}>
          <label class="field">
            <span>{t('history.q')}</span>
            <input type="search" {...field('q')} placeholder={t('history.qPlaceholder')} data-testid="history-q" />
          </label>
          <label class="field">
            <span>{t('history.visitor')}</span>
            <input type="text" {...field('visitor')} />
          </label>
          <label class="field">
            <span>{t('history.email')}</span>
            <input type="text" {...field('email')} />
          </label>
          <label class="field">
            <span>{t('history.tag')}</span>
            <select {...field('tag')} onChange={(e) => setF({ ...f, tag: (e.target as HTMLSelectElement).value })}>
              <option value="">{t('history.any')}</option>
              {tags.value.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
            </select>
          </label>
          <label class="field">
            <span>{t('history.department')}</span>
            <select {...field('department')} onChange={(e) => setF({ ...f, department: (e.target as HTMLSelectElement).value })}>
              <option value="">{t('history.any')}</option>
              {departments.value.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
            </select>
          </label>
          <label class="field">
            <span>{t('history.agent')}</span>
            <select {...field('agent')} onChange={(e) => setF({ ...f, agent: (e.target as HTMLSelectElement).value })}>
              <option value="">{t('history.any')}</option>
              {users.value.map((x) => <option key={x.id} value={x.id}>{x.name}</option>)}
            </select>
          </label>
          <label class="field">
            <span>{t('history.from')}</span>
            <input type="date" {...field('from')} />
          </label>
          <label class="field">
            <span>{t('history.to')}</span>
            <input type="date" {...field('to')} />
          </label>
          <div class="filters-actions">
            <button type="button" class="btn" onClick={() => setF(empty)}>{t('history.clear')}</button>
            <button type="submit" class="btn btn-primary" disabled={busy}>{t('history.search')}</button>
          </div>
        </form>
      </section>
      {error && <p class="form-error" role="alert">{error}</p>}
      <section class="card section-gap" aria-live="polite" aria-busy={busy}>
        <table class="table" data-testid="history-results">
          <thead>
            <tr>
              <th scope="col">{t('history.visitor')}</th>
              <th scope="col">{t('history.agent')}</th>
              <th scope="col">{t('history.department')}</th>
              <th scope="col">{t('history.tag')}</th>
              <th scope="col">{t('history.closed')}</th>
            </tr>
          </thead>
          <tbody>
            {rows?.length === 0 && (
              <tr>
                <td colSpan={5} class="empty-row">{t('history.none')}</td>
              </tr>
            )}
            {rows?.map((c) => (
              <tr key={c.id}>
                <td>
                  <span class="person">
                    <Avatar id={c.visitor_id} name={visitorName(c)} small />
                    <span>
                      <a href={'#/chat/' + c.id} onClick={(e) => {
                        e.preventDefault();
                        select(c.id);
                      }}>{visitorName(c)}</a>
                      <small class="ellipsis">{c.visitor_email ? c.visitor_email + ' · ' : ''}{c.preview}</small>
                    </span>
                  </span>
                </td>
                <td>{c.assignee_name || '—'}</td>
                <td>{c.department_name || '—'}</td>
                <td>
                  <span class="panel-tags">{(c.tags ?? []).map((x) => <span key={x.id} class="tag-chip">{x.name}</span>)}</span>
                </td>
                <td class="muted">{dateTime(c.closed_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {cursor && (
          <div class="card-foot">
            <button class="btn" disabled={busy} onClick={() => void search(true)}>{t('history.more')}</button>
          </div>
        )}
      </section>
    </main>
  );
}
