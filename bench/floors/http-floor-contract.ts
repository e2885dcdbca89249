/** Routes of the HTTP floor server, shared by the server and the bench that loads it. */
export const FLOOR_PATH = "/floor";
export const FLOOR_HEALTH_PATH = "/health";
