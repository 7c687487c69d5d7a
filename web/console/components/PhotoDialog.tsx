import { useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { me } from '../store';
import { t } from '../i18n';
import type { User } from '../types';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';

/** "Your photo": upload or remove the signed-in user's profile photo, which
 * colleagues see in the console and shoppers in the chat widget. */
export function PhotoDialog({ onClose }: { onClose: () => void }) {
  const u = me.value!.user;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const done = (updated: User) => {
    if (me.value) me.value = { ...me.value, user: { ...me.value.user, photo_url: updated.photo_url } };
  };
  const run = async (fn: () => Promise<User>) => {
    setBusy(true);
    setError('');
    try {
      done(await fn());
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const upload = (file: File | undefined) => {
    if (!file) return;
    const form = new FormData();
    form.append('photo', file);
    void run(() => api<User>('PUT', '/me/photo', form));
  };
  return (
    <Dialog title={t('photo.title')} onClose={onClose}>
      <div class="photo-edit">
        <span class="photo-preview">
          <Avatar id={u.id} name={u.name} photo={u.photo_url} />
        </span>
        <p class="muted">{t('photo.help')}</p>
      </div>
      {error && <p class="form-error" role="alert">{error}</p>}
      <div class="dialog-actions">
        {u.photo_url && (
          <button type="button" class="btn btn-ghost" disabled={busy} data-testid="photo-remove"
            onClick={() => void run(() => api<User>('DELETE', '/me/photo'))}>
            {t('photo.remove')}
          </button>
        )}
        <label class={'btn btn-primary' + (busy ? ' disabled' : '')}>
          {u.photo_url ? t('photo.change') : t('photo.upload')}
          <input type="file" class="sr-only" accept="image/png,image/jpeg,image/webp" disabled={busy} data-testid="photo-file"
            onChange={(e) => {
              const input = e.target as HTMLInputElement;
              upload(input.files?.[0]);
              input.value = '';
            }} />
        </label>
      </div>
    </Dialog>
  );
}
