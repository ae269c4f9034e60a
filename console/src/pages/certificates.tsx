/**
 * X.509: the registration code, CA certificates (register with proof of possession, activate,
 * inactivate, delete) and device certificates (registered on first connect) of an instance.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { time } from '../format';
import { DangerButton, ErrorBox, Field, Form, Pager, Section, Status, Table, TextArea, useAction, useCan, useLoad, usePager } from '../components';

interface CaCertificate {
  CaName: string;
  Sn: string;
  Status: string;
  ValidBegin: string;
  ValidEnd: string;
}

interface DeviceCertificate {
  CaSn: string;
  DeviceSn: string;
  DeviceName: string;
  Status: string;
  ValidBegin: string;
  ValidEnd: string;
}

/** Validity bounds come as epoch milliseconds in a string (the managed service's format). */
function when(value: string): string {
  return /^\d+$/.test(value) ? time(Number(value)) : value;
}

/** The API's status of a certificate: 1 active, 0 inactive. */
function active(status: string): boolean {
  return status === '1' || /^active$/i.test(status);
}

function StatusBadge(props: { status: string }): JSX.Element {
  return <span class={active(props.status) ? 'badge on' : 'badge off'}>{active(props.status) ? 'active' : 'inactive'}</span>;
}

export function Certificates(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}`;
  const code = useLoad(() => (can('mq:GetRegisterCode') ? api<{ registerCode: string }>('GET', `${base}/ca-certificates/register-code`) : Promise.resolve(undefined)), [base, can('mq:GetRegisterCode')]);
  const cas = useLoad(() => api<Page<CaCertificate>>('GET', `${base}/ca-certificates${query({ limit: 1000 })}`), [base]);
  const [caFilter, setCaFilter] = useState('');
  const [appliedCa, setAppliedCa] = useState('');
  const pager = usePager();
  const devices = useLoad(() => api<Page<DeviceCertificate>>('GET', `${base}/device-certificates${query({ caSn: appliedCa, limit: 50, cursor: pager.cursor })}`), [base, appliedCa, pager.cursor]);
  const action = useAction();
  const [name, setName] = useState('');
  const [content, setContent] = useState('');
  const [verification, setVerification] = useState('');
  const reload = (): void => {
    cas.reload();
    devices.reload();
  };
  const caAction = (ca: CaCertificate, verb: 'activate' | 'inactivate'): Promise<unknown> => action.run(`CA ${ca.CaName} ${verb}d`, () => api('POST', `${base}/ca-certificates/${seg(ca.Sn)}/${verb}`)).then(reload);
  const deviceAction = (d: DeviceCertificate, verb: 'activate' | 'inactivate'): Promise<unknown> =>
    action.run(`Device certificate ${d.DeviceSn} ${verb}d`, () => api('POST', `${base}/ca-certificates/${seg(d.CaSn)}/device-certificates/${seg(d.DeviceSn)}/${verb}`)).then(devices.reload);
  return (
    <>
      <h1>Certificates</h1>
      <ErrorBox error={cas.error ?? devices.error ?? code.error} />
      <Status note={action.note} />
      <Section title="CA certificates">
        <Table
          caption="Registered CA certificates"
          rows={cas.data?.items}
          rowKey={(c) => c.Sn}
          empty="No CA registered: devices cannot use X.509 identities yet."
          columns={[
            { label: 'Name', value: (c) => c.CaName },
            { label: 'Serial number', value: (c) => <span class="mono">{c.Sn}</span> },
            { label: 'Status', value: (c) => <StatusBadge status={c.Status} /> },
            { label: 'Valid from', value: (c) => when(c.ValidBegin) },
            { label: 'Valid until', value: (c) => when(c.ValidEnd) },
            {
              label: 'Actions',
              value: (c) => (
                <div class="actions">
                  {active(c.Status) && can('mq:InactivateCaCertificate') ? <DangerButton label="Inactivate" target={c.CaName} onConfirm={() => void caAction(c, 'inactivate')} /> : null}
                  {!active(c.Status) && can('mq:ActiveCaCertificate') ? (
                    <button type="button" aria-label={`Activate ${c.CaName}`} onClick={() => void caAction(c, 'activate')}>
                      Activate
                    </button>
                  ) : null}
                  {can('mq:DeleteCaCertificate') ? <DangerButton label="Delete" target={c.CaName} onConfirm={() => void action.run(`CA ${c.CaName} deleted`, () => api('DELETE', `${base}/ca-certificates/${seg(c.Sn)}`)).then(reload)} /> : null}
                </div>
              ),
            },
          ]}
        />
      </Section>
      {can('mq:RegisterCaCertificate') ? (
        <Section title="Register a CA certificate">
          <p>
            Prove you hold the CA's key: sign a verification certificate with it whose subject CN is the registration code{' '}
            <span class="secret-box" data-testid="register-code">
              {code.data?.registerCode ?? '…'}
            </span>
            .
          </p>
          <Form label="Register a CA certificate" onSubmit={() => void action.run(`CA ${name} registered`, () => api('POST', `${base}/ca-certificates`, { name, content, verification })).then((ok) => ok && (setContent(''), setVerification(''), reload()))}>
            <Field label="CA name" value={name} onInput={setName} required />
            <TextArea label="CA certificate (PEM)" value={content} onInput={setContent} rows={5} />
            <TextArea label="Verification certificate (PEM)" value={verification} onInput={setVerification} rows={5} />
            <button type="submit" class="primary" disabled={action.busy}>
              Register CA
            </button>
          </Form>
        </Section>
      ) : null}
      <Section title="Device certificates">
        <Form
          label="Filter device certificates"
          class="form inline"
          onSubmit={() => {
            pager.reset();
            setAppliedCa(caFilter.trim());
          }}
        >
          <Field label="CA serial number" value={caFilter} onInput={setCaFilter} placeholder="(all CAs)" />
          <button type="submit">Show devices</button>
        </Form>
        <Table
          caption="Device certificates (registered when the device first connects)"
          rows={devices.data?.items}
          rowKey={(d) => `${d.CaSn}/${d.DeviceSn}`}
          empty="No device certificate yet."
          columns={[
            { label: 'Device', value: (d) => d.DeviceName },
            { label: 'Serial number', value: (d) => <span class="mono">{d.DeviceSn}</span> },
            { label: 'CA serial number', value: (d) => <span class="mono">{d.CaSn}</span> },
            { label: 'Status', value: (d) => <StatusBadge status={d.Status} /> },
            { label: 'Valid until', value: (d) => when(d.ValidEnd) },
            {
              label: 'Actions',
              value: (d) => (
                <div class="actions">
                  {active(d.Status) && can('mq:InactivateDeviceCertificate') ? <DangerButton label="Inactivate" target={d.DeviceName} onConfirm={() => void deviceAction(d, 'inactivate')} /> : null}
                  {!active(d.Status) && can('mq:ActiveDeviceCertificate') ? (
                    <button type="button" aria-label={`Activate ${d.DeviceName}`} onClick={() => void deviceAction(d, 'activate')}>
                      Activate
                    </button>
                  ) : null}
                  {can('mq:DeleteDeviceCertificate') ? <DangerButton label="Delete" target={d.DeviceName} onConfirm={() => void action.run(`Device certificate ${d.DeviceSn} deleted`, () => api('DELETE', `${base}/ca-certificates/${seg(d.CaSn)}/device-certificates/${seg(d.DeviceSn)}`)).then(devices.reload)} /> : null}
                </div>
              ),
            },
          ]}
        />
        <Pager page={pager.page} total={devices.data?.total} next={devices.data?.next} onNext={() => devices.data?.next && pager.next(devices.data.next)} onPrev={pager.prev} />
      </Section>
    </>
  );
}
