import { useState } from 'preact/hooks';
import { hue, initials } from '../util';

/** A person's photo, or their initials on a calm colour when there is none
 * (or it fails to load). */
export function Avatar({ id, name, small, photo }: { id: string; name: string; small?: boolean; photo?: string }) {
  const h = hue(id);
  const [failed, setFailed] = useState('');
  if (photo && failed !== photo) {
    return (
      <span class={'avatar avatar-photo' + (small ? ' avatar-sm' : '')}>
        <img src={photo} alt={name} onError={() => setFailed(photo)} />
      </span>
    );
  }
  return (
    <span class={'avatar' + (small ? ' avatar-sm' : '')} aria-hidden="true"
      style={{ background: `hsl(${h} 45% 90%)`, color: `hsl(${h} 45% 28%)` }}>
      {initials(name)}
    </span>
  );
}
