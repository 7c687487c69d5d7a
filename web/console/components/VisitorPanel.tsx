import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { convs, select, selected, visitorName, visitors } from '../store';
import { t } from '../i18n';
import type { Conversation, Panel as PanelData } from '../types';
import { clockTime, dateTime, describeUA, localTime, safeURL } from '../util';
import { useNow } from './Inbox';

export function VisitorPanel() {
  const id = selected.value;
  const c = id ? convs.value[id] : undefined;
  if (!c) return <aside class="visitor-panel" aria-label={t('visitor.label')} />;
  return <Panel c={c} key={c.visitor_id} />;
}

function Panel({ c }: { c: Conversation }) {
  const [p, setP] = useState<PanelData | null>(null);
  const now = useNow(30000);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<PanelData>('GET', `/conversations/${encodeURIComponent(c.id)}/panel`)
        .then((r) => {
          if (!live) return;
          setP(r);
          visitors.value = { ...visitors.value, [r.visitor.id]: r.visitor };
        })
        .catch(() => {});
    void load();
    // The shopper keeps browsing: refresh the page trail now and then.
    const id = window.setInterval(load, 20000);
    return () => {
      live = false;
      window.clearInterval(id);
    };
  }, [c.id]);
  const v = p?.visitor ?? visitors.value[c.visitor_id];
  const attrs = v?.attributes ?? {};
  const custom = Object.entries(attrs);
  const pages = p?.pages ?? [];
  const earlier = p ? (p.earlier ?? []).filter((x) => x.id !== c.id) : null;
  const name = visitorName(c);
  const device = p ? [p.browser, p.os, p.device ? t(('visitor.' + p.device) as 'visitor.mobile') : ''].filter(Boolean).join(' · ') || describeUA(p.user_agent) : '';
  return (
    <aside class="visitor-panel" aria-labelledby="visitor-title">
      <section class="panel-card">
        <h2 id="visitor-title" class="panel-title">{t('visitor.title')}</h2>
        <dl class="facts">
          <Fact label={t('visitor.name')} value={v?.name || name} testid="v-name" />
          <Fact label={t('visitor.email')} value={v?.email} testid="v-email" />
          <Fact label={t('visitor.customerId')} value={v?.customer_id} testid="v-customer" />
          <Fact label={t('visitor.language')} value={v?.language?.toUpperCase()} />
          <Fact label={t('visitor.localTime')} value={localTime(p?.timezone, now)} />
          <Fact label={t('visitor.device')} value={device} />
          <Fact label={t('visitor.firstSeen')} value={v ? dateTime(v.created_at) : ''} />
        </dl>
      </section>
      <section class="panel-card">
        <h2 class="panel-title">{t('visitor.browsing')}</h2>
        <dl class="facts">
          <div class="fact">
            <dt>{t('visitor.currentPage')}</dt>
            <dd data-testid="v-page">
              {p?.current_page ? <ExtLink url={p.current_page.url} text={p.current_page.title || p.current_page.url} /> : <span class="muted">—</span>}
            </dd>
          </div>
          <div class="fact">
            <dt>{t('visitor.referrer')}</dt>
            <dd>{p?.referrer ? <ExtLink url={p.referrer} text={p.referrer} /> : <span class="muted">—</span>}</dd>
          </div>
        </dl>
        {pages.length > 1 && (
          <>
            <h3 class="panel-sub">{t('visitor.pageHistory')}</h3>
            <ol class="page-history">
              {pages.slice(0, 8).map((pg, i) => (
                <li key={i}>
                  <ExtLink url={pg.url} text={pg.title || pg.url} />
                  {pg.at && <span class="muted"> · {clockTime(pg.at)}</span>}
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
          <ul class="earlier" data-testid="v-earlier">
            {earlier.slice(0, 10).map((e) => (
              <li key={e.id}>
                <a href={'#/chat/' + e.id} onClick={(ev) => {
                  ev.preventDefault();
                  select(e.id);
                }}>
                  <span>{dateTime(e.created_at)}</span>
                  {e.preview && <span class="earlier-preview">{e.preview}</span>}
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
