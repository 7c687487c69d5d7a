export function Admin() {
  return <main class="page" />;
}
