import { hue, initials } from '../util';

export function Avatar({ id, name, small }: { id: string; name: string; small?: boolean }) {
  const h = hue(id);
  return (
    <span class={'avatar' + (small ? ' avatar-sm' : '')} aria-hidden="true"
      style={{ background: `hsl(${h} 45% 90%)`, color: `hsl(${h} 45% 28%)` }}>
      {initials(name)}
    </span>
  );
}
