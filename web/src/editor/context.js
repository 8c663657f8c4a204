// The open flow's session and node-type registry, for components deep in the canvas.
import { createContext, useContext } from 'react';

export const EditorContext = createContext(null);
export function useEditor() { return useContext(EditorContext); }
