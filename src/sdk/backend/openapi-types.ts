/**
 * GENERATED from the OpenAPI document Ferry serves at /api/v1/openapi.json by openapi-typescript;
 * do not edit. Regenerate with `npm run sdk:types` (test/integration/sdk/openapi-types.test.ts
 * fails while this file and the served document disagree).
 */
export interface paths {
    "/api/v1/instances": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List instances (only those the caller may list)
         * @description Needs mq:ListMqttInstance.
         */
        get: {
            parameters: {
                query?: {
                    /** @description key=value; only instances with this tag */
                    tag?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Create an instance
         * @description Needs mq:CreateMqttInstance.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        instanceId?: string;
                        name?: string;
                        /** @enum {string} */
                        mode?: "strict" | "relaxed";
                        limits?: {
                            [key: string]: number;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Inspect an instance
         * @description Needs mq:ListMqttInstance.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete an instance (its clients are disconnected)
         * @description Needs mq:DeleteMqttInstance.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /**
         * Rename an instance, change its mode or limits
         * @description Needs mq:UpdateMqttInstance.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name?: string;
                        /** @enum {string} */
                        mode?: "strict" | "relaxed";
                        limits?: {
                            [key: string]: number;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/tags": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Add or replace tags of an instance
         * @description Needs mq:TagResources.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        tags: {
                            key: string;
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        post?: never;
        /**
         * Remove tags (keys=a,b) or all tags of an instance
         * @description Needs mq:UntagResources.
         */
        delete: {
            parameters: {
                query?: {
                    keys?: string;
                    all?: boolean;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/topics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List parent topics
         * @description Needs mq:ListMqttTopic.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Create a parent topic
         * @description Needs mq:CreateMqttTopic.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/topics/{topic}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a parent topic
         * @description Needs mq:DeleteMqttTopic.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    topic: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/groups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Group IDs
         * @description Needs mq:ListMqttGroupId.
         */
        get: {
            parameters: {
                query?: {
                    /** @description key=value */
                    tag?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Create a Group ID
         * @description Needs mq:CreateMqttGroupId.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        groupId: string;
                        tags?: {
                            key: string;
                            value?: string;
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/groups/{groupId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a Group ID
         * @description Needs mq:DeleteMqttGroupId.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    groupId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/access-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List AccessKeys (no secrets)
         * @description Needs mq:ListAccessKey.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Create an AccessKey; the secret is shown once
         * @description Needs mq:CreateAccessKey.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        accessKeyId?: string;
                        secret?: string;
                        description?: string;
                        policies?: (string | {
                            Version?: string;
                            Statement: {
                                /** @enum {string} */
                                Effect: "Allow" | "Deny";
                                Action: string | string[];
                                Resource: string | string[];
                            }[];
                        })[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/access-keys/{accessKeyId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Inspect an AccessKey
         * @description Needs mq:ListAccessKey.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    accessKeyId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete an AccessKey
         * @description Needs mq:DeleteAccessKey.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    accessKeyId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /**
         * Change description, status (Active/Inactive) or policies
         * @description Needs mq:UpdateAccessKey.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    accessKeyId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string;
                        /** @enum {string} */
                        status?: "Active" | "Inactive";
                        policies?: (string | {
                            Version?: string;
                            Statement: {
                                /** @enum {string} */
                                Effect: "Allow" | "Deny";
                                Action: string | string[];
                                Resource: string | string[];
                            }[];
                        })[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Apply for a device token (as the calling AccessKey)
         * @description Needs mq:ApplyToken.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        resources: string[];
                        /** @enum {string} */
                        actions: "R" | "W" | "RW" | "R,W";
                        /** @description ms since the epoch */
                        expireTime: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/tokens/query": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Is a token valid?
         * @description Needs mq:QueryToken.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        token: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/tokens/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke a token (connections holding it are cut)
         * @description Needs mq:RevokeToken.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        token: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/device-credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Client ids of a group that have a credential
         * @description Needs mq:ListDeviceCredentialClientId.
         */
        get: {
            parameters: {
                query: {
                    groupId: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Register (or return) the credential of a client id
         * @description Needs mq:RegisterDeviceCredential.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        clientId: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/device-credentials/{clientId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a credential
         * @description Needs mq:GetDeviceCredential.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Unregister a credential
         * @description Needs mq:UnRegisterDeviceCredential.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/device-credentials/{clientId}/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Issue a new secret
         * @description Needs mq:RefreshDeviceCredential.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/register-code": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The registration code a CA verification certificate must carry as its CN
         * @description Needs mq:GetRegisterCode.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List registered CA certificates
         * @description Needs mq:ListCaCertificate.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Register a CA certificate with its verification certificate (proof of possession)
         * @description Needs mq:RegisterCaCertificate.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @description PEM CA certificate */
                        content: string;
                        /** @description PEM certificate signed by the CA whose subject CN is the registration code */
                        verification: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{sn}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a CA certificate
         * @description Needs mq:GetCaCertificate.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    sn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete a CA certificate and its device certificates
         * @description Needs mq:DeleteCaCertificate.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    sn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{sn}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Activate a CA certificate
         * @description Needs mq:ActiveCaCertificate.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    sn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{sn}/inactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Inactivate a CA certificate (its devices are disconnected and refused)
         * @description Needs mq:InactivateCaCertificate.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    sn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/device-certificates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List device certificates (registered on first connect), optionally of one CA
         * @description Needs mq:ListDeviceCertificate.
         */
        get: {
            parameters: {
                query?: {
                    caSn?: string;
                    limit?: number;
                    /** @description page number from `next` */
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{caSn}/device-certificates/{deviceSn}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a device certificate
         * @description Needs mq:GetDeviceCertificate.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    caSn: string;
                    deviceSn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete a device certificate (the device is disconnected)
         * @description Needs mq:DeleteDeviceCertificate.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    caSn: string;
                    deviceSn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{caSn}/device-certificates/{deviceSn}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Activate a device certificate
         * @description Needs mq:ActiveDeviceCertificate.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    caSn: string;
                    deviceSn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/ca-certificates/{caSn}/device-certificates/{deviceSn}/inactivate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Inactivate a device certificate (the device is disconnected and refused)
         * @description Needs mq:InactivateDeviceCertificate.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    caSn: string;
                    deviceSn: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/sni": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * TLS server names (SNI) that belong to the instance
         * @description Needs mq:SetSniConfig.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Set the TLS server names of the instance (as SetSniConfig)
         * @description Needs mq:SetSniConfig.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        defaultCertificate: string;
                        /** @description domain#certificateId#password;… */
                        sniConfig?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/identities": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List custom identities
         * @description Needs mq:QueryCustomAuthIdentity.
         */
        get: {
            parameters: {
                query?: {
                    username?: string;
                    identityType?: "USER" | "CLIENT";
                    clientId?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Update a custom identity
         * @description Needs mq:UpdateCustomAuthIdentity.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        username: string;
                        /** @enum {string} */
                        identityType: "USER" | "CLIENT";
                        clientId?: string;
                        secret: string;
                        /** @enum {string} */
                        signMode: "ORIGIN" | "SIGNED";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Add a custom identity
         * @description Needs mq:AddCustomAuthIdentity.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        username: string;
                        /** @enum {string} */
                        identityType: "USER" | "CLIENT";
                        clientId?: string;
                        secret: string;
                        /** @enum {string} */
                        signMode: "ORIGIN" | "SIGNED";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Delete a custom identity
         * @description Needs mq:DeleteCustomAuthIdentity.
         */
        delete: {
            parameters: {
                query: {
                    username: string;
                    identityType: "USER" | "CLIENT";
                    clientId?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/permissions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List topic permissions of custom identities
         * @description Needs mq:QueryCustomAuthPermission.
         */
        get: {
            parameters: {
                query?: {
                    identity?: string;
                    identityType?: "USER" | "CLIENT";
                    topic?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Update a topic permission
         * @description Needs mq:UpdateCustomAuthPermission.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        identity: string;
                        /** @enum {string} */
                        identityType: "USER" | "CLIENT";
                        topic: string;
                        /** @enum {string} */
                        permitAction: "PUB" | "SUB" | "PUB_SUB";
                        /** @enum {string} */
                        effect: "ALLOW" | "DENY";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Add a topic permission
         * @description Needs mq:AddCustomAuthPermission.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        identity: string;
                        /** @enum {string} */
                        identityType: "USER" | "CLIENT";
                        topic: string;
                        /** @enum {string} */
                        permitAction: "PUB" | "SUB" | "PUB_SUB";
                        /** @enum {string} */
                        effect: "ALLOW" | "DENY";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /**
         * Delete a topic permission
         * @description Needs mq:DeleteCustomAuthPermission.
         */
        delete: {
            parameters: {
                query: {
                    identity: string;
                    identityType: "USER" | "CLIENT";
                    topic: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/blacklist": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List blacklisted client ids
         * @description Needs mq:QueryCustomAuthConnectBlack.
         */
        get: {
            parameters: {
                query?: {
                    clientId?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/blacklist/{clientId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Blacklist a client id (a connected client is cut)
         * @description Needs mq:AddCustomAuthConnectBlack.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        post?: never;
        /**
         * Remove a client id from the blacklist
         * @description Needs mq:DeleteCustomAuthConnectBlack.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/clients": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List clients: connected ones and waiting persistent sessions
         * @description Needs mq:QuerySessionByClientId.
         */
        get: {
            parameters: {
                query?: {
                    connected?: boolean;
                    prefix?: string;
                    username?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/clients/{clientId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Inspect a client: connection, session, subscriptions
         * @description Needs mq:QuerySessionByClientId.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/clients/{clientId}/kick": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Close a client's connection (MQTT 5: DISCONNECT 0x98)
         * @description Needs mq:CloseConnection.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/clients/{clientId}/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Clear the session of a disconnected client (subscriptions, queued messages); 409 ClientConnected while it is connected
         * @description Needs mq:DeleteSession.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/subscriptions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List subscriptions
         * @description Needs mq:QuerySubscription.
         */
        get: {
            parameters: {
                query?: {
                    clientId?: string;
                    topicFilter?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/retained": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List retained messages matching a filter (payloads base64)
         * @description Needs mq:QueryRetained.
         */
        get: {
            parameters: {
                query?: {
                    filter?: string;
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/retained/{*}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get the retained message of a topic (the rest of the path)
         * @description Needs mq:QueryRetained.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    "*": string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete the retained message of a topic (nothing is published)
         * @description Needs mq:DeleteRetained.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    "*": string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Publish a message from a backend
         * @description Needs mq:PUB.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        topic: string;
                        payload: string;
                        /**
                         * @default utf8
                         * @enum {string}
                         */
                        payloadEncoding?: "utf8" | "base64";
                        /**
                         * @default 1
                         * @enum {integer}
                         */
                        qos?: 0 | 1 | 2;
                        /** @default false */
                        retain?: boolean;
                        messageExpiryInterval?: number;
                        properties?: {
                            /** @enum {integer} */
                            payloadFormatIndicator?: 0 | 1;
                            contentType?: string;
                            responseTopic?: string;
                            /** @description base64 */
                            correlationData?: string;
                            userProperties?: {
                                [key: string]: string;
                            } | string[][];
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/traces/devices/{clientId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Connect/close/disconnect events of a client
         * @description Needs mq:QueryMqttTraceDevice.
         */
        get: {
            parameters: {
                query: {
                    beginTime: number;
                    endTime: number;
                    page?: number;
                    pageSize?: number;
                    reverse?: boolean;
                };
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/traces/clients/{clientId}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Messages a client sent or received
         * @description Needs mq:QueryMqttTraceMessageOfClient.
         */
        get: {
            parameters: {
                query: {
                    beginTime: number;
                    endTime: number;
                    page?: number;
                    pageSize?: number;
                    reverse?: boolean;
                };
                header?: never;
                path: {
                    instanceId: string;
                    clientId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/traces/messages/{msgId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * How a message came in, and who it was delivered to
         * @description Needs mq:QueryMqttTraceMessagePublish.
         */
        get: {
            parameters: {
                query: {
                    beginTime: number;
                    endTime: number;
                    clientId?: string;
                    page?: number;
                    pageSize?: number;
                    reverse?: boolean;
                };
                header?: never;
                path: {
                    instanceId: string;
                    msgId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the rules of an instance (URLs redacted)
         * @description Needs mq:QueryRule.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        /**
         * Create a rule (outbound, inbound or status); a generated webhook secret is shown once
         * @description Needs mq:CreateRule.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description unique in the instance */
                        name: string;
                        description?: string;
                        /** @description default true */
                        enabled?: boolean;
                        /** @enum {string} */
                        type: "outbound" | "inbound" | "status";
                        /** @description outbound: MQTT topic filters */
                        topics?: string[];
                        /** @description status: Group IDs */
                        groups?: string[];
                        /** @description outbound/status: connector URL (amqp, nats, redis, http(s), queue) */
                        target?: string;
                        /** @description inbound: connector URL */
                        source?: string;
                        /** @description inbound: MQTT parent topic */
                        parentTopic?: string;
                        options?: {
                            /** @description delivery attempts before dead-lettering (default 10) */
                            maxAttempts?: number;
                            /** @description outbox bound, messages (default 100000) */
                            outboxMaxMessages?: number;
                            /** @description outbox bound, bytes (default 64 MiB) */
                            outboxMaxBytes?: number;
                            /**
                             * @description full outbox: drop-oldest (default) or refuse
                             * @enum {string}
                             */
                            overflow?: "drop-oldest" | "refuse";
                        };
                        /** @description webhook signing secret; generated for http(s) targets when absent, shown once */
                        secret?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a rule (URLs redacted)
         * @description Needs mq:QueryRule.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Delete a rule (its outbox and dead letters go with it)
         * @description Needs mq:DeleteRule.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        /**
         * Change a rule: given fields replace, options merge, the type cannot change
         * @description Needs mq:UpdateRule.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description unique in the instance */
                        name?: string;
                        description?: string;
                        /** @description default true */
                        enabled?: boolean;
                        /** @enum {string} */
                        type?: "outbound" | "inbound" | "status";
                        /** @description outbound: MQTT topic filters */
                        topics?: string[];
                        /** @description status: Group IDs */
                        groups?: string[];
                        /** @description outbound/status: connector URL (amqp, nats, redis, http(s), queue) */
                        target?: string;
                        /** @description inbound: connector URL */
                        source?: string;
                        /** @description inbound: MQTT parent topic */
                        parentTopic?: string;
                        options?: {
                            /** @description delivery attempts before dead-lettering (default 10) */
                            maxAttempts?: number;
                            /** @description outbox bound, messages (default 100000) */
                            outboxMaxMessages?: number;
                            /** @description outbox bound, bytes (default 64 MiB) */
                            outboxMaxBytes?: number;
                            /**
                             * @description full outbox: drop-oldest (default) or refuse
                             * @enum {string}
                             */
                            overflow?: "drop-oldest" | "refuse";
                        };
                        /** @description webhook signing secret; generated for http(s) targets when absent, shown once */
                        secret?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enable a rule
         * @description Needs mq:UpdateRule.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Disable a rule (its worker stops; nothing is lost)
         * @description Needs mq:UpdateRule.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Delivery counters, outbox depth and age, last error, target state
         * @description Needs mq:QueryRule.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Messages or events that could not be delivered (payloads base64)
         * @description Needs mq:QueryRule.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    cursor?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Purge dead letters (all, or ids=a,b)
         * @description Needs mq:DeleteRule.
         */
        delete: {
            parameters: {
                query?: {
                    /** @description comma-separated dead-letter ids; absent = all */
                    ids?: string;
                };
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/rules/{ruleId}/dead-letters/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Put dead letters (all, or the given ids) back into the outbox
         * @description Needs mq:UpdateRule.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    ruleId: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        ids?: string[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/queues": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Built-in queues: depth, in flight, age of the oldest message
         * @description Needs mq:QueryQueue.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/queues/{name}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Append messages (one, or messages: [...]); answered once durable
         * @description Needs mq:SendQueue.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        payload?: string;
                        /**
                         * @default utf8
                         * @enum {string}
                         */
                        payloadEncoding?: "utf8" | "base64";
                        /** @description string properties (e.g. the reference property keys) */
                        properties?: {
                            [key: string]: string;
                        };
                        messages?: {
                            payload: string;
                            /**
                             * @default utf8
                             * @enum {string}
                             */
                            payloadEncoding?: "utf8" | "base64";
                            /** @description string properties (e.g. the reference property keys) */
                            properties?: {
                                [key: string]: string;
                            };
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/queues/{name}/receive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Receive up to max messages, long-polling up to wait seconds (≤ 20); unacked ones come again after visibilityTimeout seconds
         * @description Needs mq:ReceiveQueue.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @default 10 */
                        max?: number;
                        /** @default 30 */
                        visibilityTimeout?: number;
                        /** @default 0 */
                        wait?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/queues/{name}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Acknowledge received messages (they are deleted)
         * @description Needs mq:ReceiveQueue.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        receipts: string[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/queues/{name}/nack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Give received messages back (visible again after delay seconds)
         * @description Needs mq:ReceiveQueue.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                    name: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        receipts: string[];
                        /** @default 0 */
                        delay?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/instances/{instanceId}/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The instance's series from /metrics (ferry_instance_* without the prefix): gauges as numbers, counters as running totals, labelled series as objects
         * @description Needs mq:QueryMqttInstanceStats.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    instanceId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/cluster": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Cluster status: this node, its connection to NATS, every live node with its clients and health
         * @description Needs mq:QueryMqttInstanceStats on every instance (*). enabled is false on a single node (clusterNats unset).
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            enabled: boolean;
                            nodeId?: string;
                            connected?: boolean;
                            server?: string;
                            /** @description why this node is not fully part of the cluster now (absent when it is) */
                            problem?: string;
                            nodes?: {
                                nodeId?: string;
                                self?: boolean;
                                healthy?: boolean;
                                clients?: number;
                                sessions?: number;
                                subscriptions?: number;
                                startedAt?: string;
                                lastSeen?: string;
                            }[];
                            routing?: {
                                sent?: number;
                                received?: number;
                                duplicates?: number;
                                acksRefused?: number;
                                unreadable?: number;
                            };
                            fencing?: {
                                /** @description this node's incarnation in presence: new at each start and each fencing */
                                incarnation?: number;
                                /** @description times this node learned the others counted it as gone and ended its clients' sessions */
                                fencings?: number;
                                /** @description client connections ended by those fencings */
                                clientsEnded?: number;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/permissions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The API actions the caller's policies allow on an instance (mq:PUB for its topics as a whole; each call is still checked) */
        get: {
            parameters: {
                query: {
                    instanceId: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Get a short-lived bearer token: sign this request, or send accessKeyId and accessKeySecret */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        accessKeyId?: string;
                        accessKeySecret?: string;
                        /** @default 3600 */
                        ttlSeconds?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        /** Revoke the bearer token of this request */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The AccessKey behind this request */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: never;
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
