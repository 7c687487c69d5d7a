export function History() {
  return <main class="page" />;
}
