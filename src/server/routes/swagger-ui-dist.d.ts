/** The one file of swagger-ui-dist the server loads: its folder, where the browser files are (the package ships no types). */
declare module 'swagger-ui-dist/absolute-path.js' {
  export default function getAbsoluteFSPath(): string;
}
