#!/usr/bin/env python3
"""Check outside the build (numpy only; issue #18): would a non-linear person-feature member lift
the quick start's Track I stack? Rebuilds the stack of a finished quick start (the linear
members' and the transformer twin's out-of-fold predictions, a least-squares blend on z-scored
outputs fitted on the held-out writers' rows, as `emotune ensemble --method stack`), first with
its own ridge person member (it must reproduce the quick start's dev score), then with RBF
kernel ridge on the same person vector, its alpha and gamma chosen per target by writer-grouped
5-fold out-of-fold r on train (no dev labels), and prints dev Pearson r of each.

    python3 scripts/person_kernel_check.py QUICKSTART_DIR [DATA_DIR]

QUICKSTART_DIR: a quick start run with person features and a transformer stack member
(README, issue #18: runs/quick-person in session 13). Session 14's result is in
docs/person_features.md.
"""
import argparse
import itertools

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("quickstart")
p.add_argument("data", nargs="?", default="../shared/data")
args = p.parse_args()
D = args.data.rstrip("/") + "/wassa2021/"
R = args.quickstart.rstrip("/") + "/"
import csv, numpy as np, sys
def tsv(p):
    with open(p) as f: return list(csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE))
train=tsv(D+'messages_train_ready_for_WS.tsv')
devf=tsv(D+'messages_dev_features_ready_for_WS_2022.tsv')
gold=[l.rstrip('\n').split('\t') for l in open(D+'goldstandard_dev_2022.tsv')]
pers=['personality_conscientiousness','personality_openess','personality_extraversion','personality_agreeableness','personality_stability','iri_perspective_taking','iri_personal_distress','iri_fantasy','iri_empathatic_concern']
for r,g in zip(devf,gold):
    r['empathy'],r['distress']=g[0],g[1]
    for k,v in zip(pers,g[3:12]): r[k]=v
num=['age','income']+pers
cats={'gender':['1','2','5'],'education':[str(i) for i in range(1,8)],'race':[str(i) for i in range(1,7)]}
def normcat(v): 
    v=v.strip(); 
    try: return str(int(float(v)))
    except: return v
def X(rows, mu=None, sd=None):
    A=np.array([[float(r[k]) for k in num] for r in rows])
    if mu is None: mu,sd=A.mean(0),A.std(0)
    A=(A-mu)/sd
    C=np.array([[1.0 if normcat(r[c])==v else 0.0 for c in cats for v in cats[c]] for r in rows])
    return np.hstack([A,C]),mu,sd
Xtr,mu,sd=X(train); Xdv,_,_=X(devf,mu,sd)
ytr={t:np.array([float(r[t]) for r in train]) for t in ('empathy','distress')}
ydv={t:np.array([float(r[t]) for r in devf]) for t in ('empathy','distress')}
wi={}
for r in train:
    w=r['response_id']
    if w not in wi: wi[w]=len(wi)
fold=np.array([wi[r['response_id']]%5 for r in train])
def ridge_fit(A,y,alpha):
    A1=np.hstack([A,np.ones((len(A),1))]); I=np.eye(A1.shape[1]); I[-1,-1]=0
    return np.linalg.solve(A1.T@A1+alpha*I, A1.T@y)
def ridge_pred(w,A): return np.hstack([A,np.ones((len(A),1))])@w
def rbf(A,B,g): 
    d=((A[:,None,:]-B[None,:,:])**2).sum(-1); return np.exp(-g*d)
def krr(Atr,y,Ate,alpha,g):
    K=rbf(Atr,Atr,g); m=y.mean(); c=np.linalg.solve(K+alpha*np.eye(len(K)), y-m); return rbf(Ate,Atr,g)@c+m
r=lambda a,b: np.corrcoef(a,b)[0,1]
ids=[r['message_id'] for r in train]
def member(path_oof, path_dev):
    o={r['id']:r for r in tsv(path_oof)}; d=tsv(path_dev)
    return o,d
names=['linear-text','linear-text-person','linear-person']
mem={n:member(R+f'linear/{n}/oof/predictions.tsv',R+f'linear/{n}/predictions/dev/predictions.tsv') for n in names}
mem['minilm']=member(R+'stack-members/track1-all-MiniLM-L6-v2/oof/predictions.tsv',R+'stack-members/track1-all-MiniLM-L6-v2/predictions/dev/predictions.tsv')
fit_ids=[i for i in ids if i in mem['minilm'][0]]
fit_idx=np.array([ids.index(i) for i in fit_ids])
def stack(cols_fit, cols_dev, y):
    F=np.array(cols_fit).T; G=np.array(cols_dev).T
    m,s=F.mean(0),F.std(0); Z=(F-m)/s; Zd=(G-m)/s
    w=ridge_fit(Z,y,1e-9); return ridge_pred(w,Zd), w

def stack_score(person_model):
    out = {}
    for t in ("empathy", "distress"):
        yy = ytr[t]
        cf, cd = [], []
        for n in ["linear-text", "linear-text-person", "minilm"]:
            o, d = mem[n]
            cf.append([float(o[i][t]) for i in fit_ids])
            cd.append([float(r_[t]) for r_ in d])
        if person_model is None:
            o, d = mem["linear-person"]
            cf.insert(2, [float(o[i][t]) for i in fit_ids])
            cd.insert(2, [float(r_[t]) for r_ in d])
            alone = r(np.array(cd[2]), ydv[t])
        else:
            model = person_model(t)
            oof = np.zeros(len(Xtr))
            for k in range(5):
                tr, te = fold != k, fold == k
                oof[te] = model(Xtr[tr], yy[tr], Xtr[te])
            dv = model(Xtr, yy, Xdv)
            cf.insert(2, list(oof[fit_idx]))
            cd.insert(2, list(dv))
            alone = r(dv, ydv[t])
        pred, _ = stack(cf, cd, yy[fit_idx])
        out[t] = (r(pred, ydv[t]), alone)
    return out


def show(name, out):
    print(f"{name}: stack dev avg r {np.mean([out[t][0] for t in out]):.4f} (empathy "
          f"{out['empathy'][0]:.4f}, distress {out['distress'][0]:.4f}); person member alone "
          f"{np.mean([out[t][1] for t in out]):.4f}")


show("ridge person member (the quick start's)", stack_score(None))
chosen = {}
for t in ("empathy", "distress"):
    yy = ytr[t]
    grid = []
    for a, g in itertools.product([0.3, 1, 3, 10], [0.005, 0.01, 0.02, 0.05, 0.1]):
        oof = np.zeros(len(Xtr))
        for k in range(5):
            tr, te = fold != k, fold == k
            oof[te] = krr(Xtr[tr], yy[tr], Xtr[te], a, g)
        grid.append((r(oof, yy), a, g))
    best = max(grid)
    chosen[t] = best[1:]
    print(f"{t}: alpha {best[1]}, gamma {best[2]} (out-of-fold r {best[0]:.4f})")
show("RBF kernel ridge person member", stack_score(lambda t: (lambda A, y, B: krr(A, y, B, *chosen[t]))))
