/** The resource types the e2e engine implements, each as its provider does. */
import { containerHandler } from "./container";
import { ResourceHandler } from "./handler";
import { imageHandler } from "./image";
import { networkHandler } from "./network";
import { randomIdHandler, randomPasswordHandler, randomStringHandler } from "./random";
import { remoteImageHandler } from "./remoteImage";
import {
    tlsCertRequestHandler,
    tlsLocallySignedCertHandler,
    tlsPrivateKeyHandler,
    tlsSelfSignedCertHandler,
} from "./tls";
import { volumeHandler } from "./volume";

export type { ResourceHandler } from "./handler";

/** Handlers by type token; build contexts and upload sources resolve against `projectRoot`. */
export function resourceHandlers(projectRoot: string): Record<string, ResourceHandler> {
    return {
        "tls:index/certRequest:CertRequest": tlsCertRequestHandler,
        "tls:index/locallySignedCert:LocallySignedCert": tlsLocallySignedCertHandler,
        "tls:index/privateKey:PrivateKey": tlsPrivateKeyHandler,
        "tls:index/selfSignedCert:SelfSignedCert": tlsSelfSignedCertHandler,
        "docker:index/image:Image": imageHandler(projectRoot),
        "docker:index/remoteImage:RemoteImage": remoteImageHandler(projectRoot),
        "docker:index/network:Network": networkHandler,
        "docker:index/volume:Volume": volumeHandler,
        "docker:index/container:Container": containerHandler(projectRoot),
        "random:index/randomPassword:RandomPassword": randomPasswordHandler,
        "random:index/randomString:RandomString": randomStringHandler,
        "random:index/randomId:RandomId": randomIdHandler,
    };
}

/** Deletion rank: containers first, images, volumes and networks last; ties go in reverse creation order. */
export function deletionRank(type: string): number {
    const ranks: Record<string, number> = {
        "docker:index/container:Container": 0,
        "docker:index/remoteImage:RemoteImage": 2,
        "docker:index/volume:Volume": 2,
        "docker:index/network:Network": 3,
    };
    return ranks[type] ?? 1;
}
