/**
 * Tabs: this tab's role, and a button that opens the playground again in a second tab.
 * Close the leader tab and watch the other take over (in its inspector's Tabs view).
 */
import type { Role } from 'cairndb';

/** The tabs panel. */
export function TabsPanel({ role }: { role: Role }) {
  return (
    <section className="panel">
      <h2>Tabs</h2>
      <p>
        Every tab runs its own worker; the leader owns the database and the others forward to it. This tab is the{' '}
        <span className={`badge ${role}`}>{role}</span>.
      </p>
      <button type="button" data-action="open-tab" onClick={() => window.open(location.href, '_blank')}>
        Open a second tab
      </button>{' '}
      <span className="muted">then close the leader and watch the other take over.</span>
    </section>
  );
}
