import { Link } from 'react-router';
import { Page } from '../components/Page.tsx';

export function NotFoundScreen() {
  return (
    <Page title="Not found">
      <p>
        This page does not exist. <Link to="/">Back to the dashboard</Link>
      </p>
    </Page>
  );
}
