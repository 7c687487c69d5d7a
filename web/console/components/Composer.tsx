import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { canned, cannedFor, cannedOpen, composerFocus, me, rt, sendFile, sendMessage, sites, visitorName, visitors } from '../store';
import { t } from '../i18n';
import type { Canned, Conversation } from '../types';
import { fillPlaceholders } from '../util';
import { Icon } from './Icon';

// Drafts survive switching between chats.
const drafts = new Map<string, string>();

export function Composer({ c, canReply }: { c: Conversation; canReply: boolean }) {
  const [text, setText] = useState(drafts.get(c.id) ?? '');
  const [note, setNote] = useState(!canReply);
  const [picker, setPicker] = useState<{ query: string; index: number } | null>(null);
  const [expanded, setExpanded] = useState<Canned[] | null>(null);
  const ta = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typingOn = useRef(0);
  const typingOff = useRef(0);

  useEffect(() => {
    if (composerFocus.value) ta.current?.focus();
  }, [composerFocus.value]);
  useEffect(() => {
    if (cannedOpen.value) {
      ta.current?.focus();
      setPicker({ query: '', index: 0 });
    }
  }, [cannedOpen.value]);
  useEffect(() => {
    if (!canReply) setNote(true);
  }, [canReply]);
  // The server fills the placeholders for this chat when the list opens.
  const pickerOpen = picker !== null;
  useEffect(() => {
    if (!pickerOpen) return;
    let live = true;
    void cannedFor(c.id).then((list) => live && setExpanded(list));
    return () => {
      live = false;
    };
  }, [pickerOpen, c.id]);
  useEffect(
    () => () => {
      window.clearTimeout(typingOff.current);
      if (typingOn.current) rt.typing(c.id, false);
    },
    [c.id],
  );

  const vars = useMemo(() => {
    const v = visitors.value[c.visitor_id];
    const name = v?.name || c.visitor_name || '';
    return {
      'visitor.name': name,
      'visitor.email': v?.email || c.visitor_email || '',
      'agent.name': me.value?.user.name ?? '',
      'site.name': sites.value.find((s) => s.id === c.site_id)?.name ?? '',
    };
  }, [c, visitors.value, sites.value]);

  const matches = useMemo(() => {
    if (!picker) return [];
    const q = picker.query.toLowerCase();
    return (expanded ?? canned.value)
      .filter((r) => !r.department_id || !c.department_id || r.department_id === c.department_id)
      .filter((r) => !q || r.shortcut.toLowerCase().includes(q) || r.title.toLowerCase().includes(q))
      .slice(0, 8);
  }, [picker, canned.value, expanded]);

  const update = (v: string) => {
    setText(v);
    drafts.set(c.id, v);
    // "/word" at the start opens the canned picker filtered by word.
    const m = v.match(/^\/(\S*)$/);
    if (m) setPicker({ query: m[1], index: 0 });
    else if (picker && !v.startsWith('/')) setPicker(null);
    if (!note) signalTyping(v !== '');
  };

  const signalTyping = (on: boolean) => {
    const now = Date.now();
    if (on && now - typingOn.current > 2500) {
      typingOn.current = now;
      rt.typing(c.id, true);
    }
    window.clearTimeout(typingOff.current);
    if (on) {
      typingOff.current = window.setTimeout(() => stopTyping(), 4000);
    } else stopTyping();
  };
  const stopTyping = () => {
    if (typingOn.current) {
      typingOn.current = 0;
      rt.typing(c.id, false);
    }
  };

  const choose = (r: Canned) => {
    const body = r.text ?? fillPlaceholders(r.body, vars);
    setText(body);
    drafts.set(c.id, body);
    setPicker(null);
    requestAnimationFrame(() => {
      const el = ta.current;
      if (el) {
        el.focus();
        el.setSelectionRange(body.length, body.length);
      }
    });
  };

  const submit = () => {
    const body = text.trim();
    if (!body) return;
    sendMessage(c.id, note || !canReply ? 'note' : 'text', body);
    setText('');
    drafts.delete(c.id);
    stopTyping();
  };

  const onKey = (e: KeyboardEvent) => {
    if (picker && matches.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const d = e.key === 'ArrowDown' ? 1 : -1;
        setPicker({ ...picker, index: (picker.index + d + matches.length) % matches.length });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        choose(matches[Math.min(picker.index, matches.length - 1)]);
        return;
      }
    }
    if (picker && e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setPicker(null);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const mode = note ? 'note' : 'reply';
  return (
    <div class={'composer composer-' + mode}>
      <div class="composer-tabs" role="radiogroup" aria-label={t('composer.mode')}>
        <button role="radio" aria-checked={!note} class={'ctab' + (!note ? ' active' : '')} disabled={!canReply}
          onClick={() => setNote(false)}>
          {t('composer.reply')}
        </button>
        <button role="radio" aria-checked={note} class={'ctab ctab-note' + (note ? ' active' : '')} onClick={() => setNote(true)}
          title="Alt+N">
          <Icon name="lock" size={13} /> {t('composer.note')}
        </button>
        <span class="composer-hint">{note ? t('composer.noteHint') : t('composer.replyHint', { name: visitorName(c) })}</span>
      </div>
      {picker && (
        <ul class="canned-picker" role="listbox" id="canned-list" aria-label={t('canned.title')}>
          {matches.length === 0 && <li class="muted canned-empty">{canned.value.length ? t('canned.noMatch') : t('canned.none')}</li>}
          {matches.map((r, i) => (
            <li key={r.id} role="option" id={'canned-' + r.id} aria-selected={i === picker.index} class={i === picker.index ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(r);
              }}>
              <span class="canned-short">/{r.shortcut}</span>
              <span class="canned-title">{r.title}</span>
              <span class="canned-body">{r.text ?? fillPlaceholders(r.body, vars)}</span>
            </li>
          ))}
        </ul>
      )}
      <div class="composer-box">
        <label class="sr-only" for="composer-input">
          {note ? t('composer.noteLabel') : t('composer.replyLabel')}
        </label>
        <textarea id="composer-input" ref={ta} rows={3} value={text} data-testid="composer"
          placeholder={note ? t('composer.notePlaceholder') : t('composer.placeholder')}
          aria-autocomplete="list" aria-controls={picker ? 'canned-list' : undefined}
          aria-activedescendant={picker && matches[picker.index] ? 'canned-' + matches[picker.index].id : undefined}
          onInput={(e) => update((e.target as HTMLTextAreaElement).value)} onKeyDown={onKey}
          onBlur={() => stopTyping()} maxLength={5000} />
        <div class="composer-bar">
          <button class="icon-btn" type="button" aria-label={t('canned.open')} title={t('canned.open') + ' (Alt+/)'}
            onClick={() => {
              setPicker({ query: '', index: 0 });
              ta.current?.focus();
            }}>
            <Icon name="bolt" />
          </button>
          <button class="icon-btn" type="button" aria-label={t('composer.attach')} title={t('composer.attach')} disabled={!canReply}
            onClick={() => fileInput.current?.click()}>
            <Icon name="clip" />
          </button>
          <input ref={fileInput} type="file" class="sr-only" tabIndex={-1} aria-hidden="true" data-testid="file-input"
            accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"
            onChange={async (e) => {
              const input = e.target as HTMLInputElement;
              const f = input.files?.[0];
              if (f) await sendFile(c.id, f);
              input.value = '';
            }} />
          <span class="composer-keys muted">{t('composer.keys')}</span>
          <button class={'btn ' + (note ? 'btn-note' : 'btn-primary')} type="button" onClick={submit} disabled={!text.trim()} data-testid="send">
            {note ? t('composer.addNote') : t('composer.send')}
          </button>
        </div>
      </div>
    </div>
  );
}
