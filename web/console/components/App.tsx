import { useEffect } from 'preact/hooks';
import {
  booting, cannedOpen, closeConversation, composerFocus, convs, helpOpen, inboxTab, isSupervisor, me, route, select, selected, step, tabList,
  toast, totalUnread, queue, visible, markReadIfLooking, activity,
} from '../store';
import { t } from '../i18n';
import { setTitleCount } from '../notify';
import { AcceptInvite, Login } from './Login';
import { TopBar } from './TopBar';
import { Inbox } from './Inbox';
import { ChatView } from './ChatView';
import { VisitorPanel } from './VisitorPanel';
import { Help } from './Help';
import { Supervisor } from './Supervisor';
import { Admin } from './Admin';
import { History } from './History';
import { Offline } from './Offline';

function typingInField(e: KeyboardEvent) {
  const el = e.target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/** Global keyboard shortcuts (listed in the help overlay). */
function onKey(e: KeyboardEvent) {
  if (!me.value || e.defaultPrevented) return;
  if (document.querySelector('.dialog') && !helpOpen.value) return;
  const field = typingInField(e);
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit) {
      const c = tabList.value[Number(digit[1]) - 1];
      if (c) {
        e.preventDefault();
        select(c.id);
      }
      return;
    }
    switch (e.code) {
      case 'ArrowDown':
        e.preventDefault();
        step(1);
        return;
      case 'ArrowUp':
        e.preventDefault();
        step(-1);
        return;
      case 'KeyW': {
        const id = selected.value;
        const c = id ? convs.value[id] : undefined;
        if (c && c.status !== 'closed') {
          e.preventDefault();
          if (confirm(t('chat.closeConfirm'))) void closeConversation(c.id);
        }
        return;
      }
      case 'KeyQ':
        e.preventDefault();
        inboxTab.value = 'queue';
        route.value = 'chats';
        if (queue.value[0]) select(queue.value[0].id);
        return;
      case 'KeyM':
        e.preventDefault();
        inboxTab.value = 'mine';
        return;
      case 'Slash':
        e.preventDefault();
        cannedOpen.value++;
        return;
    }
  }
  if (field) return;
  if (e.key === '?') {
    e.preventDefault();
    helpOpen.value = !helpOpen.value;
  } else if (e.key === '/' || e.key === 'r') {
    if (selected.value) {
      e.preventDefault();
      route.value = 'chats';
      composerFocus.value++;
    }
  } else if (e.key === 'j' || e.key === 'k') {
    step(e.key === 'j' ? 1 : -1);
  }
}

export function App() {
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    window.addEventListener('keydown', activity, { passive: true });
    window.addEventListener('pointerdown', activity, { passive: true });
    const onVis = () => {
      visible.value = document.visibilityState === 'visible';
      if (visible.value && selected.value) markReadIfLooking(selected.value);
    };
    document.addEventListener('visibilitychange', onVis);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('keydown', activity);
      window.removeEventListener('pointerdown', activity);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, []);
  useEffect(() => {
    setTitleCount(totalUnread.value + queue.value.filter((c) => c.status === 'queued').length);
  }, [totalUnread.value, queue.value]);

  if (booting.value) return <div class="boot" aria-busy="true">{t('common.loading')}</div>;
  if (!me.value) {
    const invite = location.hash.match(/^#\/invite\/([A-Za-z0-9_-]{8,200})$/);
    return invite ? <AcceptInvite token={invite[1]} /> : <Login />;
  }
  return (
    <div class="app">
      <a class="skip" href="#composer-input">{t('a11y.skipToComposer')}</a>
      <TopBar />
      {route.value === 'chats' && (
        <main class="workspace" aria-label={t('nav.chats')}>
          <Inbox />
          <ChatView />
          <VisitorPanel />
        </main>
      )}
      {route.value === 'history' && <History />}
      {route.value === 'offline' && <Offline />}
      {route.value === 'supervisor' && isSupervisor.value && <Supervisor />}
      {route.value === 'admin' && <Admin />}
      {helpOpen.value && <Help />}
      <div class="toast-region" role="status" aria-live="polite">
        {toast.value && <div class={'toast toast-' + toast.value.kind}>{toast.value.text}</div>}
      </div>
    </div>
  );
}
