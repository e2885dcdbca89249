/**
 * plinth's names for the EKS access policies (`aws eks list-access-policies`) and whether each may
 * be scoped to namespaces.
 */
export const EKS_ACCESS_POLICIES = {
  "cluster-admin": { name: "AmazonEKSClusterAdminPolicy", namespaced: false },
  "admin-view": { name: "AmazonEKSAdminViewPolicy", namespaced: false },
  admin: { name: "AmazonEKSAdminPolicy", namespaced: true },
  edit: { name: "AmazonEKSEditPolicy", namespaced: true },
  view: { name: "AmazonEKSViewPolicy", namespaced: true },
} as const;

export type ClusterAccessPolicy = keyof typeof EKS_ACCESS_POLICIES;

/** plinth's names of the access policies, the cluster-wide ones first. */
export const EKS_ACCESS_POLICY_NAMES = Object.keys(EKS_ACCESS_POLICIES) as [
  ClusterAccessPolicy,
  ...ClusterAccessPolicy[],
];
