/**
 * The environment of every MLflow server plinth starts: the cluster's Deployment, the local stack
 * and the tests' server. No job execution: MLflow 3 otherwise forks seven huey consumer processes
 * for its GenAI jobs, which plinth never uses; each imports MLflow, which together took about two
 * CPU cores for the first 20 s after start on the 2-core machine (and counts against a pod's limits).
 */
export const MLFLOW_SERVER_ENV = { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" } as const;
