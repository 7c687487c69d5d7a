export function Supervisor() {
  return <main class="page" />;
}
