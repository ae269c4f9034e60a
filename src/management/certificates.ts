/**
 * X.509 device identity and TLS names (src/x509): CA certificates with their proof of
 * possession, device certificates, the registration code, SetSniConfig domains, and the two
 * disaster-recovery actions, which no Ferry instance has.
 */
import type { CaCertificateView, CertificatePage, CertificateRegistry, CertificateStatus, DeviceCertificateView } from '../x509/registry.js';
import { parseSniConfig, type SniDomains, type SniView } from '../x509/sni-config.js';
import { ManagementError } from '../tenancy/errors.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export class CertificateAdmin {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'certificates' | 'sni'>,
    private readonly check: InstanceCheck,
  ) {}

  registerCode(instanceId: string): Promise<string> {
    this.check.require(instanceId);
    return this.registry().registerCode(instanceId);
  }

  registerCa(instanceId: string, name: string, content: string, verification: string): Promise<string> {
    this.check.require(instanceId);
    return this.registry().registerCa(instanceId, name, content, verification);
  }

  getCa(instanceId: string, sn: string): CaCertificateView {
    this.check.require(instanceId);
    return this.registry().getCa(instanceId, sn);
  }

  listCas(instanceId: string, pageNo: number, pageSize: number): CertificatePage<CaCertificateView> {
    this.check.require(instanceId);
    return this.registry().listCas(instanceId, pageNo, pageSize);
  }

  setCaStatus(instanceId: string, sn: string, status: CertificateStatus): Promise<string> {
    this.check.require(instanceId);
    return this.registry().setCaStatus(instanceId, sn, status);
  }

  deleteCa(instanceId: string, sn: string): Promise<string> {
    this.check.require(instanceId);
    return this.registry().deleteCa(instanceId, sn);
  }

  getDevice(instanceId: string, caSn: string, deviceSn: string): Promise<DeviceCertificateView> {
    this.check.require(instanceId);
    return this.registry().getDevice(instanceId, caSn, deviceSn);
  }

  listDevices(instanceId: string, caSn: string | undefined, pageNo: number, pageSize: number): Promise<CertificatePage<DeviceCertificateView>> {
    this.check.require(instanceId);
    return this.registry().listDevices(instanceId, caSn, pageNo, pageSize);
  }

  setDeviceStatus(instanceId: string, caSn: string, deviceSn: string, status: CertificateStatus): Promise<string> {
    this.check.require(instanceId);
    return this.registry().setDeviceStatus(instanceId, caSn, deviceSn, status);
  }

  deleteDevice(instanceId: string, caSn: string, deviceSn: string): Promise<string> {
    this.check.require(instanceId);
    return this.registry().deleteDevice(instanceId, caSn, deviceSn);
  }

  /** SetSniConfig: `domain#certId#password;…` (passwords are not kept). */
  setSni(instanceId: string, defaultCertificate: string, sniConfig: string | undefined): Promise<void> {
    this.check.require(instanceId);
    return this.sni().set(instanceId, defaultCertificate, parseSniConfig(sniConfig));
  }

  getSni(instanceId: string): SniView {
    this.check.require(instanceId);
    return this.sni().get(instanceId);
  }

  /**
   * DisasterDowngrade / DisasterRecovery switch traffic between an instance and its paired
   * disaster-recovery instance; the managed service sets the pair up by ticket. No Ferry
   * instance has one, so both answer as for an instance without disaster recovery.
   */
  disaster(instanceId: string, otherId: string, action: 'downgrade' | 'recovery'): never {
    this.check.require(instanceId);
    this.check.require(otherId);
    throw new ManagementError(
      'DisasterRecoveryNotEnabled',
      `instance ${instanceId} has no disaster recovery pair, so ${otherId} cannot take over (${action}); see docs/compatibility.md`,
    );
  }

  private registry(): CertificateRegistry {
    return requireService(this.deps.certificates, 'X.509 certificates');
  }

  private sni(): SniDomains {
    return requireService(this.deps.sni, 'SNI configuration');
  }
}
