// Entry point: mounts the shell. Styles of @xyflow/react come first so ours can refine them.
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import App from './App.jsx';

createRoot(document.getElementById('root')).render(<App />);
