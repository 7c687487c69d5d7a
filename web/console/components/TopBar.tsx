import { useState } from 'preact/hooks';
import { go, helpOpen, isAdmin, isSupervisor, logout, me, myLoad, offlineOpen, route, rt, setStatus, type Route } from '../store';
import { t } from '../i18n';
import type { Presence } from '../types';
import { askPermission, isMuted, permission, setMuted } from '../notify';
import { LangPicker } from './LangPicker';
import { Avatar } from './Avatar';
import { Icon } from './Icon';
import { PhotoDialog } from './PhotoDialog';

const statuses: Presence[] = ['online', 'away', 'offline'];

export function TopBar() {
  const u = me.value!.user;
  const [muted, setM] = useState(isMuted());
  const [perm, setPerm] = useState(permission());
  const [photoOpen, setPhotoOpen] = useState(false);
  const nav: [Route, string, boolean][] = [
    ['chats', t('nav.chats'), true],
    ['history', t('nav.history'), true],
    ['offline', t('nav.offline'), true],
    ['supervisor', t('nav.supervisor'), isSupervisor.value],
    ['admin', t('nav.admin'), isAdmin.value],
  ];
  return (
    <header class="topbar">
      <div class="brand" aria-label="Tiski">
        <span class="brand-mark" aria-hidden="true">T</span>
        <span class="brand-name">Tiski</span>
        <span class="tenant">{me.value!.tenant.name}</span>
      </div>
      <nav class="nav" aria-label={t('nav.label')}>
        {nav
          .filter(([, , ok]) => ok)
          .map(([r, label]) => (
            <button key={r} class={'nav-item' + (route.value === r ? ' active' : '')} aria-current={route.value === r ? 'page' : undefined}
              onClick={() => go(r)}>
              {label}
              {r === 'offline' && offlineOpen.value > 0 && (
                <span class="badge nav-badge" data-testid="nav-offline-count">
                  <span aria-hidden="true">{offlineOpen.value}</span>
                  <span class="sr-only">{t('offline.openCount', { n: offlineOpen.value })}</span>
                </span>
              )}
            </button>
          ))}
      </nav>
      <div class="topbar-right">
        {!rt.connected.value && (
          <span class="conn-warn" role="status">
            {t('conn.reconnecting')}
          </span>
        )}
        <div class={'status-pill status-' + u.status} data-testid="my-status">
          <span class="dot" aria-hidden="true" />
          <label>
            <span class="sr-only">{t('status.label')}</span>
            <select value={u.status} onChange={(e) => {
              askPermission();
              void setStatus((e.target as HTMLSelectElement).value as Presence);
            }}>
              {statuses.map((s) => (
                <option key={s} value={s}>
                  {t(('status.' + s) as 'status.online')}
                </option>
              ))}
            </select>
          </label>
          <span class="load" title={t('status.loadTitle')} data-testid="my-load">
            {myLoad.value}/{u.max_chats}
          </span>
        </div>
        {perm === 'default' && (
          <button class="btn btn-sm btn-ghost alerts-btn" onClick={() => {
            askPermission();
            window.setTimeout(() => setPerm(permission()), 1500);
          }}>
            {t('notify.enable')}
          </button>
        )}
        <button class="icon-btn" aria-pressed={muted} title={muted ? t('sound.unmute') : t('sound.mute')}
          aria-label={muted ? t('sound.unmute') : t('sound.mute')} onClick={() => {
            setMuted(!muted);
            setM(!muted);
          }}>
          <Icon name={muted ? 'bellOff' : 'bell'} />
        </button>
        <button class="icon-btn" aria-label={t('help.open')} title={t('help.open') + ' (?)'} onClick={() => (helpOpen.value = true)}>
          <Icon name="keyboard" />
        </button>
        <LangPicker />
        <div class="me">
          <button type="button" class="me-photo" title={t('photo.title')} aria-label={t('photo.title')}
            data-testid="my-photo" onClick={() => setPhotoOpen(true)}>
            <Avatar id={u.id} name={u.name} photo={u.photo_url} small />
          </button>
          <span class="me-name">{u.name}</span>
          <button class="btn btn-ghost btn-sm" onClick={() => void logout()}>
            {t('nav.signOut')}
          </button>
        </div>
      </div>
      {photoOpen && <PhotoDialog onClose={() => setPhotoOpen(false)} />}
    </header>
  );
}
