import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { convs, loadVisitor, select, selected, visitorName, visitors } from '../store';
import { t } from '../i18n';
import type { Conversation } from '../types';
import { dateTime, describeUA, localTime, safeURL } from '../util';
import { useNow } from './Inbox';

// Attribute keys that the widget reports as context rather than as the
// shop's own custom attributes.
const contextKeys = new Set(['page_url', 'page_title', 'url', 'page', 'referrer', 'user_agent', 'timezone', 'tz', 'pages']);

export function VisitorPanel() {
  const id = selected.value;
  const c = id ? convs.value[id] : undefined;
  if (!c) return <aside class="visitor-panel" aria-label={t('visitor.label')} />;
  return <Panel c={c} key={c.visitor_id} />;
}

function Panel({ c }: { c: Conversation }) {
  const v = visitors.value[c.visitor_id];
  const now = useNow(30000);
  const [earlier, setEarlier] = useState<Conversation[] | null>(null);
  useEffect(() => {
    void loadVisitor(c.visitor_id, true);
    api<{ conversations: Conversation[] }>('GET', `/visitors/${encodeURIComponent(c.visitor_id)}/conversations`)
      .then((r) => setEarlier(r.conversations.filter((x) => x.id !== c.id)))
      .catch(() => setEarlier([]));
  }, [c.visitor_id]);
  const attrs = v?.attributes ?? {};
  const page = v?.page_url ?? attrs.page_url ?? attrs.url ?? attrs.page;
  const pageTitle = v?.page_title ?? attrs.page_title;
  const referrer = v?.referrer ?? attrs.referrer;
  const ua = v?.user_agent ?? attrs.user_agent;
  const tz = v?.timezone ?? attrs.timezone ?? attrs.tz;
  const custom = Object.entries(attrs).filter(([k]) => !contextKeys.has(k));
  const pages = v?.pages ?? [];
  const name = visitorName(c);
  return (
    <aside class="visitor-panel" aria-labelledby="visitor-title">
      <section class="panel-card">
        <h2 id="visitor-title" class="panel-title">{t('visitor.title')}</h2>
        <dl class="facts">
          <Fact label={t('visitor.name')} value={v?.name || name} testid="v-name" />
          <Fact label={t('visitor.email')} value={v?.email} testid="v-email" />
          <Fact label={t('visitor.customerId')} value={v?.customer_id} testid="v-customer" />
          <Fact label={t('visitor.language')} value={v?.language?.toUpperCase()} />
          <Fact label={t('visitor.localTime')} value={localTime(tz, now)} />
          <Fact label={t('visitor.device')} value={describeUA(ua)} />
          <Fact label={t('visitor.firstSeen')} value={v ? dateTime(v.created_at) : ''} />
        </dl>
      </section>
      <section class="panel-card">
        <h2 class="panel-title">{t('visitor.browsing')}</h2>
        <dl class="facts">
          <div class="fact">
            <dt>{t('visitor.currentPage')}</dt>
            <dd data-testid="v-page">{page ? <ExtLink url={page} text={pageTitle || page} /> : <span class="muted">—</span>}</dd>
          </div>
          <div class="fact">
            <dt>{t('visitor.referrer')}</dt>
            <dd>{referrer ? <ExtLink url={referrer} text={referrer} /> : <span class="muted">—</span>}</dd>
          </div>
        </dl>
        {pages.length > 0 && (
          <>
            <h3 class="panel-sub">{t('visitor.pageHistory')}</h3>
            <ol class="page-history">
              {pages.slice(-8).reverse().map((p, i) => (
                <li key={i}>
                  <ExtLink url={p.url} text={p.title || p.url} />
                  {p.at && <span class="muted"> · {dateTime(p.at)}</span>}
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
      {custom.length > 0 && (
        <section class="panel-card">
          <h2 class="panel-title">{t('visitor.attributes')}</h2>
          <dl class="facts" data-testid="v-attributes">
            {custom.map(([k, val]) => (
              <Fact key={k} label={k} value={val} />
            ))}
          </dl>
        </section>
      )}
      <section class="panel-card">
        <h2 class="panel-title">{t('visitor.earlier')}</h2>
        {earlier === null ? (
          <p class="muted">{t('common.loading')}</p>
        ) : earlier.length === 0 ? (
          <p class="muted">{t('visitor.noEarlier')}</p>
        ) : (
          <ul class="earlier">
            {earlier.slice(0, 10).map((e) => (
              <li key={e.id}>
                <a href={'#/chat/' + e.id} onClick={(ev) => {
                  ev.preventDefault();
                  select(e.id);
                }}>
                  {dateTime(e.created_at)}
                </a>
                <span class={'status-tag st-' + e.status}>{t(('conv.' + e.status) as 'conv.open')}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </aside>
  );
}

function Fact({ label, value, testid }: { label: string; value?: string; testid?: string }) {
  return (
    <div class="fact">
      <dt>{label}</dt>
      <dd data-testid={testid}>{value ? value : <span class="muted">—</span>}</dd>
    </div>
  );
}

function ExtLink({ url, text }: { url: string; text: string }) {
  const safe = safeURL(url);
  if (!safe) return <span class="break">{text}</span>;
  return (
    <a class="break" href={safe} target="_blank" rel="noopener noreferrer nofollow">
      {text}
    </a>
  );
}
