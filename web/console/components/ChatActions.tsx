import { useState } from 'preact/hooks';
import { createTag, emailTranscript, isSupervisor, join, me, setTag, tags, visitors } from '../store';
import { t } from '../i18n';
import type { Conversation } from '../types';
import { Dialog } from './Dialog';
import { Icon } from './Icon';

/** Tags, transcript by email and (for supervisors) join or take over. */
export function ChatActions({ c }: { c: Conversation }) {
  const [open, setOpen] = useState<'tags' | 'mail' | null>(null);
  const uid = me.value?.user.id;
  const involved = c.assignee_id === uid || (c.participants ?? []).some((p) => p.id === uid);
  return (
    <>
      {isSupervisor.value && c.status === 'assigned' && !involved && (
        <>
          <button class="btn" onClick={() => void join(c.id, 'join')} data-testid="join">
            {t('chat.join')}
          </button>
          <button class="btn" onClick={() => void join(c.id, 'takeover')}>
            {t('chat.takeover')}
          </button>
        </>
      )}
      <button class="icon-btn" aria-label={t('tags.edit')} title={t('tags.edit')} onClick={() => setOpen('tags')} data-testid="tags">
        <Icon name="tag" />
      </button>
      <button class="icon-btn" aria-label={t('transcript.title')} title={t('transcript.title')} onClick={() => setOpen('mail')} data-testid="transcript">
        <Icon name="mail" />
      </button>
      {open === 'tags' && <TagsDialog c={c} onClose={() => setOpen(null)} />}
      {open === 'mail' && <TranscriptDialog c={c} onClose={() => setOpen(null)} />}
    </>
  );
}

/** The conversation's tags as removable chips (chat header). */
export function TagChips({ c }: { c: Conversation }) {
  if (!c.tags?.length) return null;
  return (
    <span class="panel-tags" data-testid="chat-tags">
      {c.tags.map((tg) => (
        <span class="tag-chip" key={tg.id}>
          {tg.color && <i class="tag-dot" style={{ background: tg.color }} />}
          {tg.name}
          {c.status !== 'closed' && (
            <button aria-label={t('tags.remove', { name: tg.name })} onClick={() => void setTag(c.id, tg.id, false)}>
              ×
            </button>
          )}
        </span>
      ))}
    </span>
  );
}

function TagsDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const [name, setName] = useState('');
  const on = new Set((c.tags ?? []).map((x) => x.id));
  const add = async (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) return;
    const existing = tags.value.find((x) => x.name.toLowerCase() === n.toLowerCase());
    const tg = existing ?? (await createTag(n));
    if (tg) await setTag(c.id, tg.id, true);
    setName('');
  };
  return (
    <Dialog title={t('tags.edit')} onClose={onClose}>
      <fieldset class="tag-list">
        <legend class="sr-only">{t('tags.edit')}</legend>
        {tags.value.length === 0 && <p class="muted">{t('tags.none')}</p>}
        {tags.value.map((tg) => (
          <label class="check" key={tg.id}>
            <input type="checkbox" checked={on.has(tg.id)} onChange={(e) => void setTag(c.id, tg.id, (e.target as HTMLInputElement).checked)} />
            {tg.color && <i class="tag-dot" style={{ background: tg.color }} />}
            {tg.name}
          </label>
        ))}
      </fieldset>
      <form class="inline-add" onSubmit={add}>
        <label class="field grow">
          <span>{t('tags.new')}</span>
          <input type="text" value={name} maxLength={40} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button class="btn" type="submit" disabled={!name.trim()}>
          {t('tags.add')}
        </button>
      </form>
      <div class="dialog-actions">
        <button class="btn btn-primary" onClick={onClose}>
          {t('common.done')}
        </button>
      </div>
    </Dialog>
  );
}

function TranscriptDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const [email, setEmail] = useState(visitors.value[c.visitor_id]?.email || c.visitor_email || '');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const r = await emailTranscript(c.id, email.trim() || undefined);
    setBusy(false);
    if (r) onClose();
  };
  return (
    <Dialog title={t('transcript.title')} onClose={onClose}>
      <form onSubmit={submit}>
        <p class="muted">{t('transcript.hint')}</p>
        <label class="field">
          <span>{t('transcript.to')}</span>
          <input type="email" value={email} required onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy || !email.trim()}>
            {t('transcript.send')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
