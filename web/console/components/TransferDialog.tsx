import { useState } from 'preact/hooks';
import { allOpen, departments, me, transfer, users } from '../store';
import { t } from '../i18n';
import type { Conversation, User } from '../types';
import { Dialog } from './Dialog';

export function loadOf(u: User): number {
  return u.load ?? allOpen.value.filter((c) => c.status === 'assigned' && c.assignee_id === u.id).length;
}

export function TransferDialog({ c, onClose }: { c: Conversation; onClose: () => void }) {
  const agents = users.value.filter((u) => !u.disabled && u.id !== me.value?.user.id && u.id !== c.assignee_id);
  const [target, setTarget] = useState(agents.find((u) => u.status === 'online' && loadOf(u) < u.max_chats)?.id ? 'a:' + agents.find((u) => u.status === 'online' && loadOf(u) < u.max_chats)!.id : '');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!target) return;
    setBusy(true);
    const [kind, id] = [target.slice(0, 1), target.slice(2)];
    const ok = await transfer(c.id, kind === 'a' ? { agent_id: id } : { department_id: id }, note.trim());
    setBusy(false);
    if (ok) onClose();
  };
  return (
    <Dialog title={t('transfer.title')} onClose={onClose}>
      <form onSubmit={submit} class="form">
        <label class="field">
          <span>{t('transfer.to')}</span>
          <select value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)} required data-testid="transfer-target">
            <option value="">{t('transfer.choose')}</option>
            <optgroup label={t('transfer.agents')}>
              {agents.map((u) => (
                <option key={u.id} value={'a:' + u.id} disabled={loadOf(u) >= u.max_chats}>
                  {u.name} — {t(('status.' + u.status) as 'status.online')}, {loadOf(u)}/{u.max_chats}
                </option>
              ))}
            </optgroup>
            {departments.value.length > 0 && (
              <optgroup label={t('transfer.departments')}>
                {departments.value.map((d) => (
                  <option key={d.id} value={'d:' + d.id}>
                    {d.name}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label class="field">
          <span>{t('transfer.note')}</span>
          <textarea rows={3} value={note} maxLength={2000} placeholder={t('transfer.notePlaceholder')} data-testid="transfer-note"
            onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
          <small class="muted">{t('transfer.noteHint')}</small>
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={!target || busy} data-testid="transfer-submit">
            {t('transfer.submit')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
